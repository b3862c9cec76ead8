//! Synthetic incident detail for the demo: alerts with entities, analyst comments,
//! Defender-style recommended actions and tactic intelligence. Deterministic per incident.

use super::catalog::{ANALYSTS, HOST_PREFIXES, MDCA, MDE, MDO, SENTINEL};
use crate::incident::{ArcStr, Incident, Severity, Tactic};
use crate::sources::{Alert, Comment, Entity, Intel, RecommendedAction};
use chrono::{DateTime, Duration, Utc};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::net::Ipv4Addr;

/// The hosts, accounts and addresses an incident's texts name.
#[derive(Debug, Default, PartialEq)]
pub struct Names {
    pub hosts: Vec<String>,
    pub users: Vec<String>,
    pub ips: Vec<String>,
}

/// Reads entity names back out of the generated title and description.
pub fn names(incident: &Incident) -> Names {
    let mut found = Names::default();
    let text = format!("{} {}", incident.title, incident.description);
    for word in text.split_whitespace() {
        let word = word.trim_matches(|c: char| matches!(c, '.' | ',' | ':' | ';' | '(' | ')'));
        let list = if HOST_PREFIXES.iter().any(|prefix| word.starts_with(prefix)) {
            &mut found.hosts
        } else if word.ends_with("@contoso.com") {
            &mut found.users
        } else if word.parse::<Ipv4Addr>().is_ok() {
            &mut found.ips
        } else {
            continue;
        };
        if !list.iter().any(|seen| seen == word) {
            list.push(word.to_string());
        }
    }
    found
}

/// A generator for one incident's detail, so the same incident always looks the same.
fn rng_for(incident: &Incident, salt: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(super::SEED ^ incident.number.wrapping_mul(0x9e37_79b9) ^ salt)
}

/// Further alert names a product raises next to the incident's main alert.
fn related_alert_names(product: &str) -> &'static [&'static str] {
    match product {
        MDE => &[
            "Suspicious process injection observed",
            "Anomalous scheduled task created",
            "Suspicious file dropped and launched",
        ],
        MDO => &[
            "User clicked a potentially malicious URL",
            "Suspicious email sending patterns detected",
        ],
        MDCA => &[
            "Activity from infrequent country",
            "Unusual file share activity",
        ],
        SENTINEL => &[
            "Multiple failed sign-ins followed by success",
            "Rare process run by service account",
        ],
        _ => &[
            "Anonymous IP address",
            "Malicious IP address",
            "Unfamiliar sign-in properties",
        ],
    }
}

/// One alert per id in the incident; the first carries the incident's own title.
pub fn alerts(incident: &Incident) -> Vec<Alert> {
    let mut rng = rng_for(incident, 1);
    let product = incident
        .alert_products
        .first()
        .map_or_else(|| SENTINEL.to_string(), ArcStr::to_string);
    let found = names(incident);
    let mut entities: Vec<Entity> = Vec::new();
    let mut add = |kind: &str, name: &str| {
        entities.push(Entity {
            kind: kind.to_string(),
            name: name.to_string(),
        });
    };
    for host in &found.hosts {
        add("Host", host);
    }
    for user in &found.users {
        add("Account", user);
        if product == MDO {
            add("Mailbox", user);
        }
    }
    for ip in &found.ips {
        add("Ip", ip);
    }
    if product == MDO || incident.techniques.iter().any(|it| it == "T1105") {
        // A reserved domain, so a careless click on demo data goes nowhere.
        add(
            "Url",
            &format!(
                "https://contoso-sso-login.example.net/auth?session={}",
                incident.number
            ),
        );
    }
    let related = related_alert_names(&product);
    incident
        .alert_ids
        .iter()
        .enumerate()
        .map(|(index, id)| {
            let (name, severity) = if index == 0 {
                (incident.title.to_string(), incident.severity)
            } else {
                let name = related[rng.random_range(0..related.len())].to_string();
                // Companion alerts are never more severe than the incident.
                let lower = Severity::ALL[rng.random_range(incident.severity.index()..4)];
                (name, lower)
            };
            Alert {
                id: id.clone(),
                name,
                severity,
                product: product.clone(),
                tactics: incident.tactics.clone(),
                techniques: incident.techniques.iter().map(ArcStr::to_string).collect(),
                entities: entities.clone(),
                created: incident.created + Duration::minutes(index as i64 * 7),
            }
        })
        .collect()
}

/// Things analysts write on incidents.
const COMMENT_TEXTS: [&str; 6] = [
    "Looked at the alert timeline; no follow-on activity so far.",
    "Contacted the user to confirm the activity.",
    "Checked the sign-in logs for the last 7 days; nothing else unusual.",
    "Device is isolated while we collect an investigation package.",
    "Matches the known behaviour of our patch management tool.",
    "Escalated to tier 2 for a closer look.",
];

/// Zero to three comments, written after the incident was triaged and before it closed or `now`.
pub fn comments(incident: &Incident, now: DateTime<Utc>) -> Vec<Comment> {
    let Some(triaged) = incident.first_human_action else {
        return Vec::new();
    };
    let mut rng = rng_for(incident, 2);
    let count = rng.random_range(0..=3usize);
    let author = incident
        .owner
        .label()
        .map(str::to_string)
        .unwrap_or_else(|| ANALYSTS[0].0.to_string());
    let mut time = triaged;
    (0..count)
        .map(|_| {
            time += Duration::minutes(rng.random_range(3..240));
            Comment {
                author: author.clone(),
                message: COMMENT_TEXTS[rng.random_range(0..COMMENT_TEXTS.len())].to_string(),
                created: time,
            }
        })
        .filter(|comment| comment.created <= incident.closed.unwrap_or(now))
        .collect()
}

/// Defender-style recommended actions for the incident's products and tactics. Like
/// Defender's own, the texts name no device or user (the same detection gives every alert the
/// same text); the devices come with each action, and the endpoint one has steps under
/// headings, as Defender for Endpoint writes them.
pub fn recommended_actions(incident: &Incident) -> Vec<RecommendedAction> {
    let hosts = names(incident).hosts;
    let has = |tactic: Tactic| incident.tactics.contains(&tactic);
    let mut texts: Vec<&str> = Vec::new();
    for product in &incident.alert_products {
        match product.as_str() {
            MDE => {
                texts.push(ENDPOINT_ACTIONS);
                texts.push(
                    "Isolate the device from the network until the investigation is complete.",
                );
                if has(Tactic::CredentialAccess) || has(Tactic::LateralMovement) {
                    texts.push(
                        "Reset the credentials of accounts signed in to the device and review their recent sign-ins.",
                    );
                }
                if has(Tactic::Impact) {
                    texts.push(
                        "Check backups of the affected file shares and block the ransomware indicators tenant-wide.",
                    );
                }
            }
            MDO => {
                texts.push(
                    "Use Threat Explorer to find and soft-delete remaining copies of the message in all mailboxes.",
                );
                texts.push("Block the sender and the URL in the Tenant Allow/Block List.");
                texts.push(
                    "Check whether the recipient clicked the link; if so, reset their password and revoke sessions.",
                );
            }
            MDCA => {
                texts.push(
                    "Suspend the user in Defender for Cloud Apps while you review the activity.",
                );
                if has(Tactic::Persistence) || has(Tactic::Collection) {
                    texts.push("Remove suspicious inbox rules and sharing links the user created.");
                }
            }
            SENTINEL => {
                texts.push(
                    "Block the source IP address at the perimeter firewall if it is not a known partner address.",
                );
                texts.push(
                    "Review the analytics rule's query results for related activity around the same time.",
                );
            }
            _ => {
                texts.push(
                    "Confirm with the user whether the sign-in was theirs; if not, confirm the user compromised.",
                );
                texts.push(
                    "Require a password change for the user and revoke their refresh tokens.",
                );
            }
        }
    }
    texts
        .into_iter()
        .map(|text| RecommendedAction {
            text: text.to_string(),
            devices: hosts.clone(),
        })
        .collect()
}

/// Defender for Endpoint's usual recommended actions: two headings, each with its steps.
const ENDPOINT_ACTIONS: &str = "Collect artifacts and determine scope
\u{2022}\tReview the device timeline for suspicious activities before and after the time of the alert.
\u{2022}\tLook for the same artifacts on other devices.

Initiate containment & mitigation
\u{2022}\tContact the user to verify intent and start local remediation as needed.
\u{2022}\tUpdate antivirus signatures and run a full scan.";

/// One or two clearly labelled demo intelligence items about a tactic.
pub fn tactic_intel(tactic: Tactic, techniques: &[String]) -> Vec<Intel> {
    let url = tactic
        .id()
        .map(|id| format!("https://attack.mitre.org/tactics/{id}/"));
    let mut items = vec![Intel {
        title: format!("Demo intelligence: {} activity this month", tactic.name()),
        summary: format!(
            "Demo data, not real intelligence. Several tracked groups used {} techniques against organisations in your sector recently; prioritise incidents that show it alongside other tactics.",
            tactic.name_with_id()
        ),
        url: url.clone(),
    }];
    if !techniques.is_empty() {
        items.push(Intel {
            title: format!(
                "Demo intelligence: detection guidance for {}",
                techniques.join(", ")
            ),
            summary: "Demo data, not real intelligence. Check that the related analytics rules are enabled and hunt for the same technique on other devices and accounts over the last 14 days.".to_string(),
            url,
        });
    }
    items
}
