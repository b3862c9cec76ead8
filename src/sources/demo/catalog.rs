//! The demo catalogue: products, incident templates, analysts, hosts and users.
//! Static data only; the generator picks from it.

use crate::incident::{Severity, Tactic};

/// Microsoft Defender for Endpoint.
pub const MDE: &str = "Microsoft Defender for Endpoint";
/// Microsoft Entra ID Protection.
pub const ENTRA: &str = "Microsoft Entra ID Protection";
/// Microsoft Defender for Cloud Apps.
pub const MDCA: &str = "Microsoft Defender for Cloud Apps";
/// Microsoft Defender for Office 365.
pub const MDO: &str = "Microsoft Defender for Office 365";
/// Sentinel's own scheduled analytics rules report this product name.
pub const SENTINEL: &str = "Azure Sentinel";

/// Every product the demo raises incidents from.
pub const PRODUCTS: [&str; 5] = [MDE, ENTRA, MDCA, MDO, SENTINEL];

/// One kind of incident. `{host}`, `{user}` and `{ip}` in texts are filled per incident.
pub struct Template {
    pub product: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub tactics: &'static [Tactic],
    pub techniques: &'static [&'static str],
    /// Relative weights for High, Medium, Low, Informational.
    pub severity_weights: [u32; 4],
    /// Relative frequency among templates.
    pub weight: u32,
}

impl Template {
    /// Picks a severity from the template's weights with a number in `0..total_weight`.
    pub fn severity(&self, mut roll: u32) -> Severity {
        for (severity, weight) in Severity::ALL.into_iter().zip(self.severity_weights) {
            if roll < weight {
                return severity;
            }
            roll -= weight;
        }
        Severity::Low
    }

    /// Sum of the severity weights.
    pub fn severity_total(&self) -> u32 {
        self.severity_weights.iter().sum()
    }
}

use Tactic::*;

/// Index in [`TEMPLATES`] of the phishing template that makes the spike.
pub const PHISHING_WAVE: usize = 9;

/// The incident kinds, with realistic tactic mixes and severities (few High).
pub const TEMPLATES: [Template; 16] = [
    Template {
        product: MDE,
        title: "Suspicious PowerShell command line on {host}",
        description: "A process on {host} ran an encoded PowerShell command that downloads and runs a script. Signed in: {user}.",
        tactics: &[Execution],
        techniques: &["T1059.001", "T1027"],
        severity_weights: [2, 6, 3, 0],
        weight: 8,
    },
    Template {
        product: MDE,
        title: "Suspicious LSASS memory access on {host}",
        description: "A process on {host} read the memory of lsass.exe, a common way to steal credentials.",
        tactics: &[CredentialAccess],
        techniques: &["T1003.001"],
        severity_weights: [4, 5, 0, 0],
        weight: 3,
    },
    Template {
        product: MDE,
        title: "Ransomware-linked behavior detected on {host}",
        description: "Files on {host} were renamed in bulk and shadow copies deleted, as ransomware does.",
        tactics: &[Impact, DefenseEvasion],
        techniques: &["T1486", "T1490", "T1562.001"],
        severity_weights: [1, 0, 0, 0],
        weight: 1,
    },
    Template {
        product: MDE,
        title: "Possible lateral movement with PsExec from {host}",
        description: "{host} started a remote service on another device with credentials of {user}.",
        tactics: &[LateralMovement, Execution],
        techniques: &["T1570", "T1569.002"],
        severity_weights: [1, 4, 2, 0],
        weight: 3,
    },
    Template {
        product: ENTRA,
        title: "Atypical travel for user {user}",
        description: "{user} signed in from two distant locations within a short time; the last sign-in came from {ip}.",
        tactics: &[InitialAccess],
        techniques: &["T1078"],
        severity_weights: [0, 4, 6, 1],
        weight: 9,
    },
    Template {
        product: ENTRA,
        title: "Unfamiliar sign-in properties for {user}",
        description: "A sign-in for {user} from {ip} had properties not seen before for this user.",
        tactics: &[InitialAccess],
        techniques: &["T1078.004"],
        severity_weights: [0, 3, 6, 2],
        weight: 8,
    },
    Template {
        product: ENTRA,
        title: "Password spray against {user} from {ip}",
        description: "Many accounts including {user} had failed sign-ins with common passwords from {ip}.",
        tactics: &[CredentialAccess],
        techniques: &["T1110.003"],
        severity_weights: [1, 5, 3, 0],
        weight: 4,
    },
    Template {
        product: MDCA,
        title: "Mass download by a single user: {user}",
        description: "{user} downloaded an unusually large number of files from SharePoint Online in one session.",
        tactics: &[Exfiltration, Collection],
        techniques: &["T1530"],
        severity_weights: [0, 4, 5, 1],
        weight: 5,
    },
    Template {
        product: MDCA,
        title: "Suspicious inbox forwarding rule created by {user}",
        description: "{user} created an inbox rule that forwards mail to an external address and hides it.",
        tactics: &[Collection, Persistence, DefenseEvasion],
        techniques: &["T1114.003", "T1564.008"],
        severity_weights: [1, 5, 2, 0],
        weight: 4,
    },
    Template {
        product: MDO,
        title: "Email messages containing malicious URL removed after delivery - {user}",
        description: "Zero-hour auto purge removed messages with a phishing URL from the mailbox of {user} after delivery.",
        tactics: &[InitialAccess],
        techniques: &["T1566.002"],
        severity_weights: [0, 3, 6, 2],
        weight: 9,
    },
    Template {
        product: MDO,
        title: "Email messages containing malware removed after delivery - {user}",
        description: "Zero-hour auto purge removed messages with a malicious attachment from the mailbox of {user}.",
        tactics: &[InitialAccess],
        techniques: &["T1566.001"],
        severity_weights: [0, 3, 5, 1],
        weight: 5,
    },
    Template {
        product: MDO,
        title: "A potentially malicious URL click was detected for {user}",
        description: "{user} clicked a link in an e-mail that was later found to be malicious.",
        tactics: &[InitialAccess, Execution],
        techniques: &["T1566.002", "T1204.001"],
        severity_weights: [1, 5, 2, 0],
        weight: 4,
    },
    Template {
        product: SENTINEL,
        title: "Brute force attack against Azure Portal from {ip}",
        description: "Scheduled rule: more than 20 failed Azure Portal sign-ins from {ip} within 10 minutes.",
        tactics: &[CredentialAccess],
        techniques: &["T1110"],
        severity_weights: [0, 3, 5, 2],
        weight: 4,
    },
    Template {
        product: SENTINEL,
        title: "Rare RDP connections to {host}",
        description: "Scheduled rule: {user} connected to {host} over RDP for the first time in 14 days.",
        tactics: &[LateralMovement],
        techniques: &["T1021.001"],
        severity_weights: [0, 2, 5, 4],
        weight: 4,
    },
    Template {
        product: SENTINEL,
        title: "Web request with <script> payload to {host} from {ip}",
        description: "Scheduled rule: a request to the public web server {host} carried a script tag in the query string: <script>alert(document.cookie)</script>.",
        tactics: &[InitialAccess],
        techniques: &["T1190"],
        severity_weights: [0, 3, 4, 1],
        weight: 2,
    },
    Template {
        product: SENTINEL,
        title: "*Suspicious* download of *.ps1 file to {host}",
        description: "Scheduled rule: {user} downloaded a PowerShell script (*.ps1) from a newly registered domain to {host}.",
        tactics: &[Execution, CommandAndControl],
        techniques: &["T1105", "T1059.001"],
        severity_weights: [0, 3, 4, 1],
        weight: 2,
    },
];

/// SOC analysts: display name and e-mail.
pub const ANALYSTS: [(&str, &str); 5] = [
    ("Dana Whitfield", "dana.whitfield@contoso.com"),
    ("Ravi Menon", "ravi.menon@contoso.com"),
    ("Sofia Lindqvist", "sofia.lindqvist@contoso.com"),
    ("Marcus Okafor", "marcus.okafor@contoso.com"),
    ("Aiko Tanaka", "aiko.tanaka@contoso.com"),
];

/// Device name prefixes; a number is appended.
pub const HOST_PREFIXES: [&str; 6] = [
    "WS-FIN-",
    "WS-HR-",
    "WS-ENG-",
    "LT-SALES-",
    "SRV-APP-",
    "SRV-WEB-",
];

/// User names at contoso.com.
pub const USERS: [&str; 16] = [
    "j.doe",
    "a.smith",
    "m.garcia",
    "l.chen",
    "p.novak",
    "s.ahmed",
    "k.muller",
    "r.silva",
    "t.nguyen",
    "e.rossi",
    "b.kowalski",
    "n.patel",
    "o.berg",
    "h.kim",
    "c.dubois",
    "f.costa",
];

/// The closing comment given with each classification.
pub const CLOSING_COMMENTS: [&str; 4] = [
    "Confirmed malicious; contained and remediated.",
    "Expected activity by an authorised user or tool.",
    "Detection logic misfired; tuning requested.",
    "Not enough evidence either way.",
];
