//! Embedded offline knowledge base of the tactics Sentinel knows (ATT&CK Enterprise, the
//! legacy PreAttack stage, and ATT&CK for ICS's Inhibit Response Function and Impair Process
//! Control): id, name, a short description and mitigations per tactic. Lets `/recommend`
//! answer with no LLM and no threat-intelligence licence. Summarised from ATT&CK
//! (attack.mitre.org); no I/O. A name outside Sentinel's enum has no entry.

use crate::incident::Tactic;

/// What the knowledge base knows about one tactic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TacticEntry {
    pub tactic: Tactic,
    /// ATT&CK id, e.g. `TA0001`; `None` for PreAttack.
    pub id: Option<&'static str>,
    /// ATT&CK name, e.g. `Initial Access`.
    pub name: String,
    /// One sentence: what the adversary is trying to do.
    pub description: &'static str,
    /// Mitigations, most effective first; each names its ATT&CK mitigation id.
    pub mitigations: &'static [&'static str],
}

/// The label shown wherever offline knowledge-base content is used.
pub const LABEL: &str = "offline MITRE ATT&CK knowledge base";

/// The entry for a tactic; `None` for a name outside Sentinel's enum ([`Tactic::Other`]).
pub fn entry(tactic: &Tactic) -> Option<TacticEntry> {
    let (description, mitigations): (&'static str, &'static [&'static str]) = match tactic {
        Tactic::PreAttack => (
            "The adversary prepares before the compromise, gathering information and resources (ATT&CK has since split this stage into Reconnaissance and Resource Development).",
            &[
                "Reduce the information exposed publicly about staff, systems and technologies (M1056 Pre-compromise).",
                "Track look-alike domains and newly registered infrastructure targeting the organisation (M1056 Pre-compromise).",
            ],
        ),
        Tactic::Reconnaissance => (
            "The adversary gathers information to plan future operations.",
            &[
                "Reduce the information exposed publicly about staff, systems and technologies (M1056 Pre-compromise).",
                "Monitor for scanning of internet-facing assets and block abusive sources at the edge.",
            ],
        ),
        Tactic::ResourceDevelopment => (
            "The adversary establishes resources, such as infrastructure and accounts, to support operations.",
            &[
                "Track look-alike domains and newly registered infrastructure targeting the organisation (M1056 Pre-compromise).",
                "Enable brand and domain impersonation protection in mail filtering.",
            ],
        ),
        Tactic::InitialAccess => (
            "The adversary tries to get into the network.",
            &[
                "Enforce phishing-resistant multi-factor authentication for all users (M1032 Multi-factor Authentication).",
                "Filter and detonate attachments and links in e-mail (M1049 Antivirus/Antimalware, M1021 Restrict Web-Based Content).",
                "Patch internet-facing applications promptly (M1051 Update Software).",
                "Run regular phishing awareness training (M1017 User Training).",
            ],
        ),
        Tactic::Execution => (
            "The adversary tries to run malicious code.",
            &[
                "Enable attack surface reduction rules and application control (M1038 Execution Prevention).",
                "Constrain PowerShell and script interpreters; log script blocks (M1042 Disable or Remove Feature or Program).",
                "Keep endpoint protection in block mode on every device (M1040 Behavior Prevention on Endpoint).",
            ],
        ),
        Tactic::Persistence => (
            "The adversary tries to maintain its foothold.",
            &[
                "Review new services, scheduled tasks, OAuth app consents and mailbox rules (M1047 Audit).",
                "Restrict who may create accounts and register applications (M1018 User Account Management).",
            ],
        ),
        Tactic::PrivilegeEscalation => (
            "The adversary tries to gain higher-level permissions.",
            &[
                "Use just-in-time privileged access and remove standing admin rights (M1026 Privileged Account Management).",
                "Patch local privilege escalation vulnerabilities (M1051 Update Software).",
            ],
        ),
        Tactic::DefenseEvasion => (
            "The adversary tries to avoid being detected.",
            &[
                "Turn on tamper protection for endpoint security (M1022 Restrict File and Directory Permissions).",
                "Alert on disabled logging, cleared event logs and security tool changes (M1047 Audit).",
            ],
        ),
        Tactic::CredentialAccess => (
            "The adversary tries to steal account names and passwords.",
            &[
                "Enable credential protection (LSA protection, Credential Guard) on endpoints (M1043 Credential Access Protection).",
                "Require multi-factor authentication and block legacy authentication (M1032 Multi-factor Authentication).",
                "Reset credentials of affected accounts and revoke their sessions (M1027 Password Policies).",
            ],
        ),
        Tactic::Discovery => (
            "The adversary tries to figure out the environment.",
            &[
                "Limit directory and network enumeration by ordinary accounts (M1028 Operating System Configuration).",
                "Alert on bursts of reconnaissance commands from a single host or account.",
            ],
        ),
        Tactic::LateralMovement => (
            "The adversary tries to move through the environment.",
            &[
                "Segment the network and restrict remote administration protocols (M1030 Network Segmentation).",
                "Use unique local administrator passwords (LAPS) (M1027 Password Policies).",
                "Isolate affected devices until investigated.",
            ],
        ),
        Tactic::Collection => (
            "The adversary tries to gather data of interest to its goal.",
            &[
                "Apply data loss prevention and sensitivity labels to important data (M1057 Data Loss Prevention).",
                "Audit access to mailboxes and file shares holding sensitive data (M1047 Audit).",
            ],
        ),
        Tactic::CommandAndControl => (
            "The adversary tries to communicate with compromised systems to control them.",
            &[
                "Block known malicious domains and IPs; enable network protection (M1031 Network Intrusion Prevention).",
                "Restrict outbound traffic to what business needs (M1037 Filter Network Traffic).",
            ],
        ),
        Tactic::Exfiltration => (
            "The adversary tries to steal data.",
            &[
                "Restrict uploads to unsanctioned cloud storage (M1021 Restrict Web-Based Content).",
                "Alert on unusual outbound data volumes (M1057 Data Loss Prevention).",
            ],
        ),
        Tactic::InhibitResponseFunction => (
            "The adversary tries to prevent safety, protection and quality functions from responding to a failure or hazard (ATT&CK for ICS).",
            &[
                "Keep safety instrumented systems independent of the control network (M0812 Safety Instrumented Systems).",
                "Keep tested backups of controller programs and configurations to restore after tampering (M0953 Data Backup).",
                "Provide an out-of-band channel for alarms and operator communication (M0810 Out-of-Band Communications Channel).",
            ],
        ),
        Tactic::ImpairProcessControl => (
            "The adversary tries to manipulate, disable or damage physical control processes (ATT&CK for ICS).",
            &[
                "Separate control networks from the corporate network and allow only the hosts and protocols that need to talk (M0930 Network Segmentation, M0937 Filter Network Traffic).",
                "Require authorisation for commands and program changes sent to controllers (M0800 Authorization Enforcement).",
                "Have controllers check the range of the inputs and set points they receive (M0818 Validate Program Inputs).",
            ],
        ),
        Tactic::Impact => (
            "The adversary tries to manipulate, interrupt or destroy systems and data.",
            &[
                "Keep offline, tested backups of critical systems (M1053 Data Backup).",
                "Enable controlled folder access and ransomware protection (M1040 Behavior Prevention on Endpoint).",
            ],
        ),
        Tactic::Other(_) => return None,
    };
    Some(TacticEntry {
        tactic: tactic.clone(),
        id: tactic.id(),
        name: tactic.name().into_owned(),
        description,
        mitigations,
    })
}

/// Every known tactic's entry, in kill-chain order.
pub fn all() -> Vec<TacticEntry> {
    Tactic::KNOWN.iter().filter_map(entry).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tactic_has_a_description_and_mitigations() {
        for it in all() {
            assert!(!it.description.is_empty(), "{}", it.name);
            assert!(!it.mitigations.is_empty(), "{}", it.name);
            assert!(it.id.is_none_or(|id| id.starts_with("TA")), "{}", it.name);
        }
        assert_eq!(all().len(), Tactic::KNOWN.len());
        assert_eq!(entry(&Tactic::Other("MyCustomTactic".into())), None);
    }

    #[test]
    fn initial_access_recommends_mfa() {
        let it = entry(&Tactic::InitialAccess).expect("known");
        assert_eq!(it.id, Some("TA0001"));
        assert!(it.mitigations[0].contains("multi-factor"));
    }

    #[test]
    fn the_ics_tactics_and_preattack_have_their_own_entries() {
        let impair = entry(&Tactic::ImpairProcessControl).expect("known");
        assert_eq!(
            (impair.id, impair.name.as_str()),
            (Some("TA0106"), "Impair Process Control")
        );
        assert!(impair.mitigations[0].contains("M0930"));
        let inhibit = entry(&Tactic::InhibitResponseFunction).expect("known");
        assert_eq!(inhibit.id, Some("TA0107"));
        assert!(inhibit.mitigations[0].contains("M0812"));
        let pre = entry(&Tactic::PreAttack).expect("known");
        assert_eq!((pre.id, pre.name.as_str()), (None, "PreAttack"));
        assert!(pre.mitigations.iter().all(|it| it.contains("M1056")));
    }
}
