//! MITRE ATT&CK tactics as Sentinel records them: `AdditionalData.tactics` in the
//! `SecurityIncident` table, `additionalData.tactics` of a REST incident and `tactics` of
//! an alert. The known ones are the values of the Microsoft.SecurityInsights `AttackTactic`
//! enum (the 14 Enterprise tactics, `PreAttack`, and the ICS tactics `ImpairProcessControl`
//! and `InhibitResponseFunction`), read in any case and spacing; any other name an
//! analytics rule carries is kept as [`Tactic::Other`], so it is counted, never dropped.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// Longest name, in characters, an [`Tactic::Other`] keeps; longer ones are cut, so one
/// rule's runaway text cannot widen every table it appears in.
pub const MAX_OTHER_CHARS: usize = 64;

/// A tactic. Variants are declared in kill-chain order, which the derived `Ord` follows:
/// PreAttack (the pre-compromise stage that ATT&CK has since split into Reconnaissance and
/// Resource Development) first, the Enterprise tactics in matrix order, the two ICS tactics
/// just before Impact (as in the ICS matrix), then other names sorted by name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tactic {
    PreAttack,
    Reconnaissance,
    ResourceDevelopment,
    InitialAccess,
    Execution,
    Persistence,
    PrivilegeEscalation,
    DefenseEvasion,
    CredentialAccess,
    Discovery,
    LateralMovement,
    Collection,
    CommandAndControl,
    Exfiltration,
    InhibitResponseFunction,
    ImpairProcessControl,
    Impact,
    /// A name outside the `AttackTactic` enum, as written: trimmed, each run of whitespace
    /// or control characters made one space, at most [`MAX_OTHER_CHARS`] characters; two
    /// names are one tactic only when equal after that (case counts). Untrusted text:
    /// renderers escape it and prompts fence it.
    Other(Box<str>),
}

/// How a known tactic is spelt: Sentinel's enum value, ATT&CK's name and id.
struct Spelling {
    sentinel: &'static str,
    name: &'static str,
    /// `None` for PreAttack, which has no current ATT&CK id.
    id: Option<&'static str>,
}

const fn spelling(sentinel: &'static str, name: &'static str, id: &'static str) -> Spelling {
    Spelling {
        sentinel,
        name,
        id: Some(id),
    }
}

/// Indexed like [`Tactic::KNOWN`]. Ids from attack.mitre.org (Enterprise TA0001-TA0043,
/// ICS TA0106 Impair Process Control and TA0107 Inhibit Response Function).
const SPELLINGS: [Spelling; 17] = [
    Spelling {
        sentinel: "PreAttack",
        name: "PreAttack",
        id: None,
    },
    spelling("Reconnaissance", "Reconnaissance", "TA0043"),
    spelling("ResourceDevelopment", "Resource Development", "TA0042"),
    spelling("InitialAccess", "Initial Access", "TA0001"),
    spelling("Execution", "Execution", "TA0002"),
    spelling("Persistence", "Persistence", "TA0003"),
    spelling("PrivilegeEscalation", "Privilege Escalation", "TA0004"),
    spelling("DefenseEvasion", "Defense Evasion", "TA0005"),
    spelling("CredentialAccess", "Credential Access", "TA0006"),
    spelling("Discovery", "Discovery", "TA0007"),
    spelling("LateralMovement", "Lateral Movement", "TA0008"),
    spelling("Collection", "Collection", "TA0009"),
    spelling("CommandAndControl", "Command and Control", "TA0011"),
    spelling("Exfiltration", "Exfiltration", "TA0010"),
    spelling(
        "InhibitResponseFunction",
        "Inhibit Response Function",
        "TA0107",
    ),
    spelling("ImpairProcessControl", "Impair Process Control", "TA0106"),
    spelling("Impact", "Impact", "TA0040"),
];

impl Tactic {
    /// Every value of Sentinel's `AttackTactic` enum, in kill-chain order.
    pub const KNOWN: [Tactic; 17] = [
        Tactic::PreAttack,
        Tactic::Reconnaissance,
        Tactic::ResourceDevelopment,
        Tactic::InitialAccess,
        Tactic::Execution,
        Tactic::Persistence,
        Tactic::PrivilegeEscalation,
        Tactic::DefenseEvasion,
        Tactic::CredentialAccess,
        Tactic::Discovery,
        Tactic::LateralMovement,
        Tactic::Collection,
        Tactic::CommandAndControl,
        Tactic::Exfiltration,
        Tactic::InhibitResponseFunction,
        Tactic::ImpairProcessControl,
        Tactic::Impact,
    ];

    /// Position in [`Tactic::KNOWN`], for array-indexed counts; `None` for [`Tactic::Other`].
    pub fn index(&self) -> Option<usize> {
        Some(match self {
            Tactic::PreAttack => 0,
            Tactic::Reconnaissance => 1,
            Tactic::ResourceDevelopment => 2,
            Tactic::InitialAccess => 3,
            Tactic::Execution => 4,
            Tactic::Persistence => 5,
            Tactic::PrivilegeEscalation => 6,
            Tactic::DefenseEvasion => 7,
            Tactic::CredentialAccess => 8,
            Tactic::Discovery => 9,
            Tactic::LateralMovement => 10,
            Tactic::Collection => 11,
            Tactic::CommandAndControl => 12,
            Tactic::Exfiltration => 13,
            Tactic::InhibitResponseFunction => 14,
            Tactic::ImpairProcessControl => 15,
            Tactic::Impact => 16,
            Tactic::Other(_) => return None,
        })
    }

    fn spelling(&self) -> Option<&'static Spelling> {
        self.index().map(|index| &SPELLINGS[index])
    }

    /// The ATT&CK id, e.g. `TA0001`; `None` for PreAttack and other names.
    pub fn id(&self) -> Option<&'static str> {
        self.spelling().and_then(|it| it.id)
    }

    /// The name Sentinel stores (`InitialAccess`), or an other name as kept.
    pub fn sentinel_name(&self) -> &str {
        match self {
            Tactic::Other(name) => name,
            known => known.spelling().map_or("", |it| it.sentinel),
        }
    }

    /// The name to show: ATT&CK's (`Initial Access`), or `Other: <name>` for other names.
    pub fn name(&self) -> Cow<'_, str> {
        match self.spelling() {
            Some(known) => Cow::Borrowed(known.name),
            None => Cow::Owned(format!("Other: {}", self.sentinel_name())),
        }
    }

    /// The name with its ATT&CK id when it has one: `Initial Access (TA0001)`, `PreAttack`.
    pub fn name_with_id(&self) -> String {
        match self.id() {
            Some(id) => format!("{} ({id})", self.name()),
            None => self.name().into_owned(),
        }
    }

    /// True for a name outside Sentinel's enum.
    pub fn is_other(&self) -> bool {
        matches!(self, Tactic::Other(_))
    }

    /// The known tactic `text` names: Sentinel's spelling exactly (no allocation), or
    /// Sentinel's spelling, ATT&CK's name or id in any case with spaces, `-` and `_` ignored
    /// ("Initial Access", "initial-access", "INITIALACCESS", "TA0001"); also "PRE-ATT&CK".
    pub fn known(text: &str) -> Option<Tactic> {
        if let Some(index) = SPELLINGS.iter().position(|it| it.sentinel == text) {
            return Some(Tactic::KNOWN[index].clone());
        }
        let same = |spelt: &str| fold(text).eq(fold(spelt));
        let index = SPELLINGS
            .iter()
            .position(|it| same(it.sentinel) || it.id.is_some_and(same));
        match index {
            Some(index) => Some(Tactic::KNOWN[index].clone()),
            None if same("preattck") => Some(Tactic::PreAttack),
            None => None,
        }
    }

    /// Reads a tactic as Sentinel or a rule author wrote it: a known one ([`Tactic::known`]),
    /// or else [`Tactic::Other`] with the name cleaned. `None` for blank text.
    pub fn read(text: &str) -> Option<Tactic> {
        if let Some(known) = Tactic::known(text) {
            return Some(known);
        }
        let cleaned: String = text
            .split(|c: char| c.is_whitespace() || c.is_control())
            .filter(|word| !word.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(MAX_OTHER_CHARS)
            .collect();
        (!cleaned.is_empty()).then(|| Tactic::Other(cleaned.into_boxed_str()))
    }
}

/// Case- and separator-insensitive key: ASCII letters and digits, lowercased. An iterator,
/// so comparing keys allocates nothing.
fn fold(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
}

/// Blank text is not a tactic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a tactic name is blank")]
pub struct BlankTactic;

impl FromStr for Tactic {
    type Err = BlankTactic;
    /// [`Tactic::read`].
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Tactic::read(text).ok_or(BlankTactic)
    }
}

impl fmt::Display for Tactic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Serialised as Sentinel spells it (`"InitialAccess"`, or an other name as kept), which is
/// also how the earlier unit-variant form was written, so stored values still read.
impl Serialize for Tactic {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.sentinel_name())
    }
}

impl<'de> Deserialize<'de> for Tactic {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Tactic, D::Error> {
        let text = Cow::<'de, str>::deserialize(deserializer)?;
        Tactic::read(&text).ok_or_else(|| serde::de::Error::custom(BlankTactic))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_line_up_and_follow_kill_chain_order() {
        for (index, tactic) in Tactic::KNOWN.iter().enumerate() {
            assert_eq!(tactic.index(), Some(index));
            assert_eq!(Tactic::known(tactic.sentinel_name()).as_ref(), Some(tactic));
            assert_eq!(format!("{tactic:?}"), tactic.sentinel_name());
        }
        let mut sorted = Tactic::KNOWN.to_vec();
        sorted.push(Tactic::Other("Zeta".into()));
        sorted.push(Tactic::Other("Alpha".into()));
        sorted.sort();
        assert_eq!(sorted[0], Tactic::PreAttack);
        assert_eq!(sorted[16], Tactic::Impact);
        assert_eq!(sorted[17], Tactic::Other("Alpha".into()));
        assert_eq!(sorted[18], Tactic::Other("Zeta".into()));
    }

    #[test]
    fn every_attack_tactic_value_sentinel_documents_is_known() {
        // The Microsoft.SecurityInsights `AttackTactic` enum, as the spec lists it.
        let documented = [
            "Reconnaissance",
            "ResourceDevelopment",
            "InitialAccess",
            "Execution",
            "Persistence",
            "PrivilegeEscalation",
            "DefenseEvasion",
            "CredentialAccess",
            "Discovery",
            "LateralMovement",
            "Collection",
            "Exfiltration",
            "CommandAndControl",
            "Impact",
            "PreAttack",
            "ImpairProcessControl",
            "InhibitResponseFunction",
        ];
        for value in documented {
            let tactic = Tactic::known(value).unwrap_or_else(|| panic!("{value}"));
            assert_eq!(tactic.sentinel_name(), value);
        }
        assert_eq!(Tactic::PreAttack.id(), None);
        assert_eq!(Tactic::ImpairProcessControl.id(), Some("TA0106"));
        assert_eq!(Tactic::InhibitResponseFunction.id(), Some("TA0107"));
        assert_eq!(Tactic::CommandAndControl.id(), Some("TA0011"));
    }

    #[test]
    fn case_and_spacing_variants_read_as_the_known_tactic() {
        for text in [
            "Initial Access",
            "initial-access",
            "INITIALACCESS",
            "initial_access",
            " InitialAccess ",
            "ta0001",
        ] {
            assert_eq!(Tactic::read(text), Some(Tactic::InitialAccess), "{text}");
        }
        assert_eq!(
            Tactic::read("Command and Control"),
            Some(Tactic::CommandAndControl)
        );
        assert_eq!(Tactic::read("pre-attack"), Some(Tactic::PreAttack));
        assert_eq!(Tactic::read("PRE-ATT&CK"), Some(Tactic::PreAttack));
        assert_eq!(
            Tactic::read("Impair Process Control"),
            Some(Tactic::ImpairProcessControl)
        );
        assert_eq!(
            Tactic::read("TA0107"),
            Some(Tactic::InhibitResponseFunction)
        );
    }

    #[test]
    fn other_names_are_kept_cleaned_and_shown_as_other() {
        let custom = Tactic::read("  My\tCustom\n\nTactic ").expect("kept");
        assert_eq!(custom, Tactic::Other("My Custom Tactic".into()));
        assert_eq!(custom.name(), "Other: My Custom Tactic");
        assert_eq!(custom.id(), None);
        assert_eq!(custom.name_with_id(), "Other: My Custom Tactic");
        assert_eq!(
            Tactic::InitialAccess.name_with_id(),
            "Initial Access (TA0001)"
        );
        assert_eq!(Tactic::read("   "), None);
        assert_eq!(Tactic::read(""), None);
        let long = "x".repeat(500);
        assert_eq!(
            Tactic::read(&long).map(|it| it.sentinel_name().chars().count()),
            Some(MAX_OTHER_CHARS)
        );
    }

    #[test]
    fn serialises_as_sentinel_spells_it_and_reads_back() {
        let tactics = vec![
            Tactic::InitialAccess,
            Tactic::PreAttack,
            Tactic::Other("MyCustomTactic".into()),
        ];
        let text = serde_json::to_string(&tactics).expect("serialises");
        assert_eq!(text, r#"["InitialAccess","PreAttack","MyCustomTactic"]"#);
        let back: Vec<Tactic> = serde_json::from_str(&text).expect("reads");
        assert_eq!(back, tactics);
        assert!(serde_json::from_str::<Tactic>(r#"" ""#).is_err());
    }
}
