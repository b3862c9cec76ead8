//! MITRE ATT&CK Enterprise techniques and the tactics ATT&CK assigns each of them, from
//! the table in `assets/mitre/enterprise-techniques.tsv` (ATT&CK v18.1). A technique
//! belongs to its own tactics, not to every tactic of an incident that carries it.
//! Pure: no I/O at run time, the table is compiled in.

use crate::incident::Tactic;
use std::collections::HashMap;
use std::sync::LazyLock;

const TABLE: &str = include_str!("../assets/mitre/enterprise-techniques.tsv");

static TECHNIQUES: LazyLock<HashMap<&'static str, Vec<Tactic>>> = LazyLock::new(|| {
    TABLE
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let (technique, tactics) = line.split_once('\t')?;
            let tactics = tactics.split(',').filter_map(Tactic::known).collect();
            Some((technique, tactics))
        })
        .collect()
});

/// The tactics ATT&CK assigns `technique` (e.g. `T1204.001` -> Execution); `None` when the
/// table does not know the id (a newer ATT&CK version, or a typo in an analytics rule).
/// Case and surrounding spaces are ignored.
pub fn tactics_of(technique: &str) -> Option<&'static [Tactic]> {
    let key = technique.trim().to_ascii_uppercase();
    TECHNIQUES.get(key.as_str()).map(Vec::as_slice)
}

/// True when `technique` may be listed under `tactic`: ATT&CK assigns it that tactic, or
/// the table does not know it (then the incident's own tactic is the best evidence there is).
pub fn belongs_to(technique: &str, tactic: &Tactic) -> bool {
    tactics_of(technique).is_none_or(|tactics| tactics.contains(tactic))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn techniques_map_to_the_tactics_attack_assigns() {
        assert_eq!(tactics_of("T1204.001"), Some(&[Tactic::Execution][..]));
        assert_eq!(tactics_of("t1570 "), Some(&[Tactic::LateralMovement][..]));
        assert_eq!(
            tactics_of("T1078"),
            Some(
                &[
                    Tactic::DefenseEvasion,
                    Tactic::Persistence,
                    Tactic::PrivilegeEscalation,
                    Tactic::InitialAccess
                ][..]
            )
        );
        assert_eq!(tactics_of("T9999"), None);
    }

    #[test]
    fn a_technique_is_not_listed_under_a_tactic_it_does_not_serve() {
        assert!(!belongs_to("T1204.001", &Tactic::InitialAccess));
        assert!(!belongs_to("T1570", &Tactic::Execution));
        assert!(belongs_to("T1566.002", &Tactic::InitialAccess));
        assert!(belongs_to("T9999", &Tactic::Impact));
    }

    #[test]
    fn the_table_is_complete_and_every_row_is_read() {
        let rows = TABLE.lines().filter(|line| line.starts_with('T')).count();
        assert_eq!(TECHNIQUES.len(), rows);
        assert!(rows > 600, "{rows}");
        assert!(TECHNIQUES.values().all(|tactics| !tactics.is_empty()));
    }
}
