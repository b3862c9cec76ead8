//! The `Advisor`: builds incident and period recommendations from Defender XDR, threat
//! intelligence, the offline MITRE knowledge base and (optionally) the model, with the
//! grounding check, the answer cache and conversation memory. The model's output is only
//! ever text: it is never parsed as a command and can trigger no action.

use super::action::{self, Section};
use super::grounding::Grounding;
use super::llm::{LlmClient, LlmError, Message, Role, TokenBudget};
use super::memory::{AnswerCache, ConversationMemory, InMemoryCache, InMemoryConversations, Turn};
use super::{IncidentAdvice, Recommendation, Source, WeeklyAdvice, mitre, prompt};
use crate::analytics::{Comparison, PeriodFacts};
use crate::deadline::{self, Budget, TimedOut};
use crate::incident::{Classification, Incident, Severity, Status, Tactic};
use crate::present::{duration, percent};
use crate::sources::{
    IncidentDetail, Intel, IntelQuery, RecommendedAction, SourceError, ThreatIntel,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::time::Instant;

/// Most tactics looked up for one incident or period.
const MAX_TACTICS: usize = 4;
/// Items kept per tactic from threat intelligence or the knowledge base.
const PER_TACTIC: usize = 2;
/// Incidents whose Defender XDR actions feed the period's posture table.
const DEFENDER_INCIDENTS: usize = 5;
/// Recommendations kept from the model.
const MAX_MODEL_ITEMS: usize = 5;

/// Combines every source of advice. Cheap to share behind an `Arc`.
pub struct Advisor {
    llm: Option<LlmClient>,
    intel: Arc<dyn ThreatIntel>,
    memory: Arc<dyn ConversationMemory>,
    cache: Arc<dyn AnswerCache>,
}

/// The model's incident answer, as the system prompt asks for it.
#[derive(Debug, Deserialize)]
struct ModelIncidentAnswer {
    #[serde(default)]
    impact: String,
    #[serde(default)]
    recommendations: Vec<ModelItem>,
}

/// The model's period answer.
#[derive(Debug, Deserialize)]
struct ModelWeeklyAnswer {
    #[serde(default)]
    insights: Vec<String>,
    #[serde(default)]
    recommendations: Vec<ModelItem>,
}

#[derive(Debug, Deserialize)]
struct ModelItem {
    #[serde(default)]
    action: String,
    #[serde(default)]
    why: String,
}

impl ModelItem {
    fn text(&self) -> String {
        match (self.action.trim(), self.why.trim()) {
            (action, "") => action.to_string(),
            (action, why) => format!("{action} ({why})"),
        }
    }
}

/// The model part of an incident answer, as cached.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ModelPart {
    impact: String,
    recommendations: Vec<String>,
    unverified: usize,
    notes: Vec<String>,
}

/// A follow-up answer in an existing conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    /// Grounding-checked text, or an explanation when the model is unavailable.
    pub text: String,
    pub unverified: usize,
}

impl Advisor {
    /// An advisor with in-memory conversation memory and cache; `llm` is optional.
    pub fn new(llm: Option<LlmClient>, intel: Arc<dyn ThreatIntel>) -> Advisor {
        Advisor {
            llm,
            intel,
            memory: Arc::new(InMemoryConversations::default()),
            cache: Arc::new(InMemoryCache::default()),
        }
    }

    /// Replaces the conversation memory (e.g. with a SQL-backed one).
    pub fn with_memory(mut self, memory: Arc<dyn ConversationMemory>) -> Advisor {
        self.memory = memory;
        self
    }

    /// Replaces the answer cache (e.g. with a SQL-backed one).
    pub fn with_cache(mut self, cache: Arc<dyn AnswerCache>) -> Advisor {
        self.cache = cache;
        self
    }

    /// True when a model is configured.
    pub fn has_model(&self) -> bool {
        self.llm.is_some()
    }

    /// The model client, for usage figures.
    pub fn llm(&self) -> Option<&LlmClient> {
        self.llm.as_ref()
    }

    /// The answer cache key of an incident as it stands.
    pub fn cache_key(incident: &Incident) -> String {
        format!(
            "incident:{}:{}",
            incident.key(),
            incident.last_modified.timestamp_millis()
        )
    }

    /// Impact and recommendations for one incident. Never fails: unavailable sources and
    /// model failures become notes and the offline knowledge base answers instead.
    pub async fn incident_advice(
        &self,
        detail: &IncidentDetail,
        thread: Option<&str>,
    ) -> IncidentAdvice {
        let incident = &detail.incident;
        let mut notes = Vec::new();
        let mut recommendations = Vec::new();

        // Defender XDR and threat intelligence in one lookup, within their share of the time.
        // A name outside Sentinel's enum means nothing to ATT&CK, so it is not looked up.
        let tactics: Vec<Tactic> = distinct(&incident.tactics)
            .into_iter()
            .filter(|tactic| !tactic.is_other())
            .take(MAX_TACTICS)
            .collect();
        let query = IntelQuery {
            incidents: vec![incident],
            tactics: tactics
                .iter()
                .map(|tactic| {
                    let own = techniques_for(std::slice::from_ref(incident), tactic);
                    (tactic.clone(), own)
                })
                .collect(),
        };
        let answers = self.look_up(&query).await;
        let defender_actions = match answers.actions.into_iter().next() {
            Some(Ok(actions)) => actions,
            Some(Err(why)) => {
                notes.push(why.about("Defender XDR recommended actions"));
                Vec::new()
            }
            None => Vec::new(),
        };
        let action_texts: Vec<String> = defender_actions
            .iter()
            .map(|action| action.text.clone())
            .collect();
        let mut defender = defender_rows(&[(incident, defender_actions)], |_, _| true);
        // The answer is about this one incident: naming it on every row would say nothing.
        for row in &mut defender {
            row.incidents.clear();
        }
        recommendations.extend(defender);
        recommendations.extend(tactic_rows(&tactics, answers.intel, &mut notes));

        let mut advice = IncidentAdvice {
            number: incident.number,
            impact: offline_impact(incident),
            impact_from_model: false,
            recommendations,
            notes: Vec::new(),
            unverified: 0,
            from_cache: false,
        };
        let model = within_model_time(self.model_part(detail, &action_texts, thread));
        match model.await {
            Ok((part, from_cache)) => {
                advice.impact = part.impact;
                advice.impact_from_model = true;
                advice.recommendations.extend(
                    part.recommendations
                        .into_iter()
                        .map(|text| Recommendation::new(text, Source::Model)),
                );
                advice.unverified = part.unverified;
                advice.from_cache = from_cache;
                notes.extend(part.notes);
            }
            Err(reason) => notes.push(format!(
                "Model unavailable: {reason}; impact and recommendations from the {}.",
                mitre::LABEL
            )),
        }
        if let Some(note) = drop_containment_when_closed(incident, &mut advice.recommendations) {
            notes.push(note);
        }
        advice.notes = notes;
        advice
    }

    /// Asks the model about the incident, or answers from the cache.
    async fn model_part(
        &self,
        detail: &IncidentDetail,
        defender_actions: &[String],
        thread: Option<&str>,
    ) -> Result<(ModelPart, bool), String> {
        let Some(llm) = &self.llm else {
            return Err("no [llm] is configured".to_string());
        };
        let key = Advisor::cache_key(&detail.incident);
        let user_prompt = prompt::incident_prompt(detail, defender_actions);
        if let Some(part) = self
            .cache
            .get(&key)
            .await
            .and_then(|text| serde_json::from_str::<ModelPart>(&text).ok())
        {
            if let Some(thread) = thread {
                self.remember(thread, &user_prompt, &part).await;
            }
            return Ok((part, true));
        }
        let earlier = match thread {
            Some(thread) => self.memory.turns(thread).await,
            None => Vec::new(),
        };
        let mut grounding = Grounding::from_facts(&user_prompt);
        let mut messages = vec![Message::new(Role::System, prompt::INCIDENT_SYSTEM)];
        for turn in &earlier {
            grounding.add(&turn.question);
            messages.push(Message::new(Role::User, turn.question.clone()));
            messages.push(Message::new(Role::Assistant, turn.answer.clone()));
        }
        messages.push(Message::new(Role::User, user_prompt.clone()));
        let budget = TokenBudget::new(llm.token_budget());
        let completion = llm
            .complete(&messages, &budget)
            .await
            .map_err(|error| describe(&error))?;
        let mut notes = Vec::new();
        let (impact, items) = match serde_json::from_str::<ModelIncidentAnswer>(&completion.content)
        {
            Ok(answer) => (
                answer.impact,
                answer
                    .recommendations
                    .iter()
                    .map(ModelItem::text)
                    .filter(|text| !text.is_empty())
                    .take(MAX_MODEL_ITEMS)
                    .collect(),
            ),
            // A model that ignores the JSON instruction still gives useful prose.
            Err(_) => {
                notes.push("The model answered in free text; shown as the impact.".to_string());
                (completion.content.clone(), Vec::new())
            }
        };
        let impact = grounding.check(&impact);
        let mut unverified = impact.unverified.len();
        let recommendations: Vec<String> = items
            .into_iter()
            .map(|text: String| {
                let checked = grounding.check(&text);
                unverified += checked.unverified.len();
                checked.text
            })
            .collect();
        if unverified > 0 {
            notes.push(format!(
                "{unverified} figure(s) in the model's answer are not in the incident's facts and are marked {}.",
                super::grounding::MARK
            ));
        }
        let part = ModelPart {
            impact: impact.text,
            recommendations,
            unverified,
            notes,
        };
        if let Ok(text) = serde_json::to_string(&part) {
            self.cache.put(&key, text).await;
        }
        if let Some(thread) = thread {
            self.remember(thread, &user_prompt, &part).await;
        }
        Ok((part, false))
    }

    async fn remember(&self, thread: &str, question: &str, part: &ModelPart) {
        let mut answer = part.impact.clone();
        for text in &part.recommendations {
            answer.push_str("\n- ");
            answer.push_str(text);
        }
        self.memory
            .append(
                thread,
                Turn {
                    question: question.to_string(),
                    answer,
                },
            )
            .await;
    }

    /// Continues the conversation of `thread`; `None` when the thread has no earlier turns.
    /// The question is the analyst's own text; figures in the answer are checked against
    /// the facts of the earlier turns.
    pub async fn follow_up(&self, thread: &str, question: &str) -> Option<FollowUp> {
        let earlier = self.memory.turns(thread).await;
        if earlier.is_empty() {
            return None;
        }
        let Some(llm) = &self.llm else {
            return Some(FollowUp {
                text: "Model unavailable: no [llm] is configured, so follow-up questions cannot be answered.".to_string(),
                unverified: 0,
            });
        };
        let mut grounding = Grounding::default();
        let mut messages = vec![Message::new(
            Role::System,
            format!(
                "{} For follow-up questions, answer with {{\"answer\": \"...\"}}.",
                prompt::INCIDENT_SYSTEM
            ),
        )];
        for turn in &earlier {
            grounding.add(&turn.question);
            messages.push(Message::new(Role::User, turn.question.clone()));
            messages.push(Message::new(Role::Assistant, turn.answer.clone()));
        }
        let question = prompt::neutralise(question);
        grounding.add(&question);
        messages.push(Message::new(Role::User, question.clone()));
        let budget = TokenBudget::new(llm.token_budget());
        let content = match llm.complete(&messages, &budget).await {
            Ok(completion) => completion.content,
            Err(error) => {
                return Some(FollowUp {
                    text: format!("Model unavailable: {}.", describe(&error)),
                    unverified: 0,
                });
            }
        };
        let text = serde_json::from_str::<serde_json::Value>(&content)
            .ok()
            .and_then(|value| value.get("answer")?.as_str().map(str::to_string))
            .unwrap_or(content);
        let checked = grounding.check(&text);
        self.memory
            .append(
                thread,
                Turn {
                    question,
                    answer: checked.text.clone(),
                },
            )
            .await;
        Some(FollowUp {
            unverified: checked.unverified.len(),
            text: checked.text,
        })
    }

    /// Looks `query` up within the lookups' share of the answer's budget. A lookup that misses
    /// its time gives a note for every entry instead of holding the answer back.
    async fn look_up(&self, query: &IntelQuery<'_>) -> Lookups {
        let answers = match lookup_budget() {
            Some(budget) => budget.run(self.intel.look_up(query)).await,
            None => Ok(self.intel.look_up(query).await),
        };
        match answers {
            Ok(answers) => Lookups {
                actions: answers
                    .actions
                    .into_iter()
                    .map(|it| it.map_err(Missing::Failed))
                    .collect(),
                intel: answers
                    .intel
                    .into_iter()
                    .map(|it| it.map_err(Missing::Failed))
                    .collect(),
            },
            Err(timed_out) => Lookups {
                actions: vec![Err(Missing::Late(timed_out.clone())); query.incidents.len()],
                intel: vec![Err(Missing::Late(timed_out)); query.tactics.len()],
            },
        }
    }

    /// Posture recommendations for a period, all from its one `PeriodFacts`: Defender XDR,
    /// threat intelligence by tactic, steps to reduce MTTT and MTTR from the measured
    /// figures, trends, and insights. Never fails.
    pub async fn weekly_recommendations(&self, facts: &PeriodFacts) -> WeeklyAdvice {
        let mut notes = Vec::new();
        let tactics: Vec<Tactic> = facts
            .created
            .by_tactic
            .iter()
            .map(|(tactic, _)| tactic)
            .filter(|tactic| !tactic.is_other())
            .take(MAX_TACTICS.min(3))
            .cloned()
            .collect();
        let posture_incidents = posture_incidents(facts);
        let query = IntelQuery {
            incidents: posture_incidents.clone(),
            tactics: tactics
                .iter()
                .map(|tactic| (tactic.clone(), techniques_for(facts.incidents(), tactic)))
                .collect(),
        };
        // The model does not need the lookups, so both run at once.
        let (answers, model) = tokio::join!(
            self.look_up(&query),
            within_model_time(self.weekly_model(facts))
        );
        let (posture_from_defender, posture_unread) =
            defender_posture(&posture_incidents, answers.actions, &mut notes);
        let from_threat_intel = tactic_rows(&tactics, answers.intel, &mut notes);
        notes.dedup();

        let mut advice = WeeklyAdvice {
            posture_from_defender,
            posture_unread,
            from_threat_intel,
            mttt_mttr_steps: mttt_mttr_steps(facts),
            trend_notes: facts
                .comparison
                .as_ref()
                .map(trend_notes)
                .unwrap_or_default(),
            operational_insights: offline_insights(facts),
            note: None,
            unverified: 0,
        };
        match model {
            Ok((insights, unverified)) => {
                advice.operational_insights = insights;
                advice.unverified = unverified;
                if unverified > 0 {
                    notes.push(format!(
                        "{unverified} figure(s) in the model's insights are not in the measured figures and are marked {}.",
                        super::grounding::MARK
                    ));
                }
            }
            Err(reason) => notes.push(format!(
                "Model unavailable: {reason}; insights from the measured figures and recommendations from the {}.",
                mitre::LABEL
            )),
        }
        if !notes.is_empty() {
            advice.note = Some(notes.join(" "));
        }
        advice
    }

    async fn weekly_model(&self, facts: &PeriodFacts) -> Result<(Vec<String>, usize), String> {
        let Some(llm) = &self.llm else {
            return Err("no [llm] is configured".to_string());
        };
        let user_prompt = prompt::weekly_prompt(facts);
        let grounding = Grounding::from_facts(&user_prompt);
        let messages = [
            Message::new(Role::System, prompt::WEEKLY_SYSTEM),
            Message::new(Role::User, user_prompt),
        ];
        let budget = TokenBudget::new(llm.token_budget());
        let completion = llm
            .complete(&messages, &budget)
            .await
            .map_err(|error| describe(&error))?;
        let texts: Vec<String> =
            match serde_json::from_str::<ModelWeeklyAnswer>(&completion.content) {
                Ok(answer) => answer
                    .insights
                    .into_iter()
                    .chain(answer.recommendations.iter().map(ModelItem::text))
                    .filter(|text| !text.trim().is_empty())
                    .take(MAX_MODEL_ITEMS * 2)
                    .collect(),
                Err(_) => vec![completion.content],
            };
        let mut unverified = 0;
        let checked = texts
            .iter()
            .map(|text| {
                let checked = grounding.check(text);
                unverified += checked.unverified.len();
                checked.text
            })
            .collect();
        Ok((checked, unverified))
    }
}

/// The incidents whose Defender XDR actions feed the period's posture table: open incidents
/// first, most severe and oldest first, then closed true positives created in the period.
/// Closed false or benign positives give none at all.
fn posture_incidents(facts: &PeriodFacts) -> Vec<&Incident> {
    let closed_real = facts.incidents().iter().filter(|it| {
        it.status == Status::Closed
            && !matches!(
                it.classification,
                Some(Classification::FalsePositive | Classification::BenignPositive)
            )
    });
    facts
        .open()
        .chain(closed_real)
        .take(DEFENDER_INCIDENTS)
        .collect()
}

/// Defender XDR actions of the posture incidents, one row per distinct action with the
/// incidents and devices it applies to, most incidents first (closed incidents give no
/// containment actions: the threat is over), and, when none could be read, why not, so the
/// report never says "none" for "could not read".
fn defender_posture(
    incidents: &[&Incident],
    answers: Vec<Result<Vec<RecommendedAction>, Missing>>,
    notes: &mut Vec<String>,
) -> (Vec<Recommendation>, Option<String>) {
    let asked = answers.len();
    let mut read: Vec<(&Incident, Vec<RecommendedAction>)> = Vec::new();
    let mut missing: Vec<Missing> = Vec::new();
    for (incident, answer) in incidents.iter().zip(answers) {
        match answer {
            Ok(actions) => read.push((incident, actions)),
            Err(why) => missing.push(why),
        }
    }
    let unread = missing.first().map(|why| {
        let what = "Defender XDR recommended actions";
        if missing.len() == asked {
            why.about(what)
        } else {
            why.about(&format!(
                "{what} of {} of the {asked} incidents looked up",
                missing.len()
            ))
        }
    });
    let rows = defender_rows(&read, |incident, section| {
        incident.status.is_open() || !is_containment(&section.text())
    });
    // With some rows shown, the gap is told in the notes; with none, in place of the table.
    if rows.is_empty() {
        return (rows, unread);
    }
    notes.extend(unread);
    (rows, None)
}

/// Defender XDR actions as recommendations: one per distinct group of an action's text (see
/// [`action::sections`]; equal by [`action::Section::key`], so the same action from many
/// alerts is one row), with the incidents and devices it applies to, the one recommended for
/// most incidents first, else first seen first. `keep` leaves a group out for an incident.
fn defender_rows(
    found: &[(&Incident, Vec<RecommendedAction>)],
    keep: impl Fn(&Incident, &Section) -> bool,
) -> Vec<Recommendation> {
    let mut rows: Vec<(String, Recommendation)> = Vec::new();
    for (incident, actions) in found {
        for found_action in actions {
            for section in action::sections(&found_action.text) {
                if !keep(incident, &section) {
                    continue;
                }
                let key = section.key();
                let index = match rows.iter().position(|(seen, _)| *seen == key) {
                    Some(index) => index,
                    None => {
                        rows.push((key, defender_row(section)));
                        rows.len() - 1
                    }
                };
                let row = &mut rows[index].1;
                push_new(&mut row.incidents, incident.number);
                for device in &found_action.devices {
                    push_new(&mut row.devices, device.clone());
                }
            }
        }
    }
    let mut rows: Vec<Recommendation> = rows.into_iter().map(|(_, row)| row).collect();
    // A stable sort: equally frequent actions keep the order they were first seen in.
    rows.sort_by_key(|row| std::cmp::Reverse(row.incidents.len()));
    rows
}

/// One group of a Defender XDR action as a recommendation: its heading over its steps; a lone
/// step is the text itself, and steps without a heading get one.
fn defender_row(section: Section) -> Recommendation {
    let (text, steps) = match (section.heading, section.steps.len()) {
        (Some(heading), _) => (heading, section.steps),
        (None, 1) => (section.steps[0].clone(), Vec::new()),
        (None, _) => ("Recommended steps".to_string(), section.steps),
    };
    Recommendation {
        numbered: section.numbered && !steps.is_empty(),
        steps,
        ..Recommendation::new(text, Source::DefenderXdr)
    }
}

fn push_new<T: PartialEq>(items: &mut Vec<T>, item: T) {
    if !items.contains(&item) {
        items.push(item);
    }
}

/// Threat intelligence per tactic, or the offline knowledge base where it has nothing (or
/// could not be read, which one note says).
fn tactic_rows(
    tactics: &[Tactic],
    answers: Vec<Result<Vec<Intel>, Missing>>,
    notes: &mut Vec<String>,
) -> Vec<Recommendation> {
    let mut rows = Vec::new();
    let mut intel_note = None;
    for (tactic, answer) in tactics.iter().zip(answers) {
        let found = match answer {
            Ok(items) => items,
            Err(why) => {
                intel_note.get_or_insert_with(|| why.about("Threat intelligence"));
                Vec::new()
            }
        };
        if found.is_empty() {
            rows.extend(offline_rows(tactic));
            continue;
        }
        for item in found.into_iter().take(PER_TACTIC) {
            let text = if item.summary.is_empty() {
                item.title
            } else {
                format!("{}: {}", item.title, item.summary)
            };
            // An article found for several tactics is listed once, naming them all.
            let listed = rows.iter_mut().find_map(|row| match &mut row.source {
                Source::ThreatIntel(tactics) if row.text == text => Some(tactics),
                _ => None,
            });
            match listed {
                Some(tactics) => push_new(tactics, tactic.clone()),
                None => rows.push(Recommendation::new(
                    text,
                    Source::ThreatIntel(vec![tactic.clone()]),
                )),
            }
        }
    }
    if let Some(note) = intel_note {
        notes.push(format!(
            "{note} MITRE mitigations come from the {}.",
            mitre::LABEL
        ));
    }
    rows
}

/// The lookups' answers, each entry either read or missing for a reason.
struct Lookups {
    actions: Vec<Result<Vec<RecommendedAction>, Missing>>,
    intel: Vec<Result<Vec<Intel>, Missing>>,
}

/// Why a source gave nothing.
#[derive(Debug, Clone)]
enum Missing {
    /// It failed or is not available.
    Failed(SourceError),
    /// It missed its share of the answer's time and was left out.
    Late(TimedOut),
}

impl Missing {
    /// One sentence about `what` (e.g. "Defender XDR recommended actions") that gave nothing.
    fn about(&self, what: &str) -> String {
        match self {
            Missing::Failed(error) => source_note(what, error),
            Missing::Late(timed_out) => {
                format!("{what} could not be read ({}).", timed_out.describe())
            }
        }
    }
}

/// The lookups' share of the current answer's budget, if there is one: half of the advice's
/// time, so a hung Graph holds the answer back no longer than that, and a model waiting for
/// the results still has the other half.
fn lookup_budget() -> Option<Budget> {
    let budget = deadline::current()?;
    let share = advice_time(&budget) / 2;
    Some(budget.until(Instant::now() + share))
}

/// The time advice may use: what is left, less a tenth kept for laying out and sending the
/// answer.
fn advice_time(budget: &Budget) -> std::time::Duration {
    let remaining = budget.remaining();
    remaining.saturating_sub(remaining / 10)
}

/// Runs a model call within the advice's time; a late model is an error saying so.
async fn within_model_time<T>(
    call: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    let Some(budget) = deadline::current() else {
        return call.await;
    };
    let budget = budget.until(Instant::now() + advice_time(&budget));
    match budget.run(call).await {
        Ok(result) => result,
        Err(timed_out) => Err(timed_out.describe()),
    }
}

/// Words that start a containment step: isolating, blocking or disabling something. Such a
/// step only makes sense while the incident is open.
const CONTAINMENT_WORDS: [&str; 7] = [
    "isolate",
    "contain",
    "quarantine",
    "block",
    "disable",
    "suspend",
    "revoke",
];

/// True when a recommended action contains, isolates or blocks something.
fn is_containment(action: &str) -> bool {
    let lower = action.to_lowercase();
    CONTAINMENT_WORDS.iter().any(|word| lower.contains(word))
}

/// A closed incident's threat is over: isolating, blocking or disabling is no longer advice,
/// whichever source gave it. Removes such steps and says so (and, for a false or benign
/// positive, where the work is instead); `None` for an open incident.
fn drop_containment_when_closed(
    incident: &Incident,
    recommendations: &mut Vec<Recommendation>,
) -> Option<String> {
    if incident.status.is_open() {
        return None;
    }
    let not_real = matches!(
        incident.classification,
        Some(Classification::FalsePositive | Classification::BenignPositive)
    );
    let before = recommendations.len();
    // As for the period's posture: a whole action goes when any of its steps contains, and
    // a false or benign positive keeps none of Defender XDR's host steps at all.
    let host_step = |it: &Recommendation| {
        (not_real && it.source == Source::DefenderXdr)
            || is_containment(&format!("{} {}", it.text, it.steps.join(" ")))
    };
    recommendations.retain(|it| !host_step(it));
    let dropped = before - recommendations.len();
    let closed_as = match incident.classification {
        Some(classification) => format!("Closed as {}", classification.as_str()),
        None => "Closed".to_string(),
    };
    let left_out = match dropped {
        0 => String::new(),
        1 => " 1 host or containment step is left out.".to_string(),
        n => format!(" {n} host or containment steps are left out."),
    };
    let next = match incident.classification {
        Some(Classification::FalsePositive | Classification::BenignPositive) => {
            " Review the analytics rule that raised it rather than the hosts."
        }
        _ => "",
    };
    Some(format!(
        "Incident {} is {closed_as}.{left_out}{next}",
        incident.number
    ))
}

/// One sentence about a source that gave nothing.
fn source_note(what: &str, error: &SourceError) -> String {
    match error {
        SourceError::Unavailable { reason, .. } => format!("{what} unavailable ({reason})."),
        other => format!("{what} could not be read ({other})."),
    }
}

fn describe(error: &LlmError) -> String {
    error.to_string()
}

fn distinct<T: Clone + PartialEq>(items: &[T]) -> Vec<T> {
    let mut seen: Vec<T> = Vec::new();
    for item in items {
        if !seen.contains(item) {
            seen.push(item.clone());
        }
    }
    seen
}

/// Techniques of the period's incidents that ATT&CK assigns to `tactic`, most frequent
/// first, at most five. An incident's technique is not listed under another of its tactics.
fn techniques_for(incidents: &[Incident], tactic: &Tactic) -> Vec<String> {
    // Counted by reference: this runs once per tactic over every incident of the period.
    let mut counted: Vec<(&str, usize)> = Vec::new();
    let found = incidents
        .iter()
        .filter(|it| it.tactics.contains(tactic))
        .flat_map(|it| {
            let techniques = &it.techniques;
            // Each technique once per incident: the first of its repeats.
            techniques
                .iter()
                .enumerate()
                .filter(|(at, technique)| !techniques[..*at].contains(technique))
                .map(|(_, technique)| technique.as_str())
        })
        .filter(|technique| crate::attack::belongs_to(technique, tactic));
    for technique in found {
        match counted.iter_mut().find(|(seen, _)| *seen == technique) {
            Some((_, count)) => *count += 1,
            None => counted.push((technique, 1)),
        }
    }
    counted.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
    counted
        .into_iter()
        .take(5)
        .map(|(technique, _)| technique.to_string())
        .collect()
}

fn offline_rows(tactic: &Tactic) -> Vec<Recommendation> {
    let Some(entry) = mitre::entry(tactic) else {
        return Vec::new();
    };
    entry
        .mitigations
        .iter()
        .take(PER_TACTIC)
        .map(|mitigation| {
            Recommendation::new(*mitigation, Source::OfflineKnowledgeBase(tactic.clone()))
        })
        .collect()
}

/// The impact paragraph written by code from the incident's fields and the knowledge base.
fn offline_impact(incident: &Incident) -> String {
    let mut text = format!(
        "{}-severity incident, {}{}.",
        incident.severity,
        incident.status.as_str().to_lowercase(),
        if incident.owner.is_assigned() {
            ""
        } else {
            " and unassigned"
        }
    );
    let tactics = distinct(&incident.tactics);
    if tactics.is_empty() {
        text.push_str(" No MITRE ATT&CK tactic is recorded, so its stage in an attack is unknown.");
    } else {
        for tactic in tactics {
            match mitre::entry(&tactic) {
                Some(entry) => text.push_str(&format!(
                    " {}: {}",
                    tactic.name_with_id(),
                    entry.description
                )),
                None => text.push_str(&format!(
                    " {}: a tactic name outside MITRE ATT&CK, as the analytics rule wrote it.",
                    tactic.name()
                )),
            }
        }
    }
    if incident.severity == Severity::High && incident.status.is_open() {
        text.push_str(" Treat it as a priority until contained.");
    }
    text
}

/// Steps to reduce MTTT and MTTR, quoting figures formatted here, never by the model.
fn mttt_mttr_steps(facts: &PeriodFacts) -> Vec<String> {
    let summary = &facts.created;
    let mut steps = Vec::new();
    let triage = &summary.time_to_triage;
    let human = &summary.time_to_first_human_action;
    match (triage.mean, triage.median) {
        (Some(mean), Some(median)) => {
            let mut step = format!(
                "MTTT (mean time to triage) is {} (median {}, over {} incidents): auto-assign new High and Medium incidents with an automation rule and page the on-call analyst, so none waits unowned.",
                duration(mean),
                duration(median),
                triage.count
            );
            if mean > median * 2 {
                step.push_str(" The mean is more than twice the median: a few incidents waited far longer than the rest; review why.");
            }
            if let Some(human_mean) = human.mean
                && human_mean > mean * 2
            {
                step.push_str(&format!(
                    " A person first acted after {} on average: automation makes the first change, so MTTT alone flatters triage.",
                    duration(human_mean)
                ));
            }
            steps.push(step);
        }
        _ => steps.push(
            "No incident created in the period was changed after creation, so MTTT cannot be measured: make sure analysts set an owner or status when they pick an incident up.".to_string(),
        ),
    }
    if facts.backlog.unowned > 0 {
        steps.push(format!(
            "{} open incidents (open backlog now) have no owner: assign them in the daily stand-up.",
            facts.backlog.unowned
        ));
    }
    let resolve = &summary.time_to_resolve;
    match (resolve.mean, resolve.median) {
        (Some(mean), Some(median)) => steps.push(format!(
            "MTTR (mean time to respond) is {} (median {}, over {} closed incidents): automate containment for the most frequent incident types with playbooks, and tune the analytics rules behind false positives.",
            duration(mean),
            duration(median),
            resolve.count
        )),
        _ => steps.push(
            "No incident created in the period is closed, so MTTR cannot be measured yet.".to_string(),
        ),
    }
    if !facts.backlog.long_unresolved.is_empty() {
        steps.push(format!(
            "{} open incidents have been open longer than {}: review them daily until closed.",
            facts.backlog.long_unresolved.len(),
            duration(facts.backlog.long_open_after)
        ));
    }
    if let Some(comparison) = &facts.comparison {
        for (label, change) in [
            ("MTTT", comparison.time_to_triage_change),
            ("MTTR", comparison.time_to_resolve_change),
        ] {
            if let Some(change) = change {
                let direction = if change > chrono::Duration::zero() {
                    "rose"
                } else {
                    "fell"
                };
                steps.push(format!(
                    "{label} {direction} by {} since the previous period.",
                    duration(change.abs())
                ));
            }
        }
    }
    steps
}

fn trend_notes(comparison: &Comparison) -> Vec<String> {
    let mut notes = Vec::new();
    let describe_trend = |label: &str, trend: &crate::analytics::Trend| match trend.change_pct {
        Some(pct) => format!(
            "{label}: {} (previous period {}, {}).",
            trend.current,
            trend.previous,
            crate::present::change_pct(pct)
        ),
        None => format!(
            "{label}: {} (previous period {}).",
            trend.current, trend.previous
        ),
    };
    notes.push(describe_trend("Incidents", &comparison.total));
    notes.push(describe_trend(
        "High-severity incidents",
        &comparison.by_severity[Severity::High.index()],
    ));
    if let Some((tactic, trend)) = comparison.by_tactic.first() {
        notes.push(describe_trend(
            &format!("Most frequent tactic, {tactic}"),
            trend,
        ));
    }
    if let Some(points) = comparison.resolution_rate_change_pts {
        notes.push(format!("Resolution rate changed by {points:+.1} points."));
    }
    notes
}

fn offline_insights(facts: &PeriodFacts) -> Vec<String> {
    let summary = &facts.created;
    let mut insights = vec![format!(
        "{} incidents were created in the period; {} of them are closed now (resolution rate {}).",
        summary.total,
        summary.by_status[Status::Closed.index()],
        percent(summary.resolution_rate)
    )];
    if let Some((tactic, count)) = summary.by_tactic.first() {
        insights.push(format!(
            "The most frequent MITRE tactic was {}, in {count} incidents.",
            tactic.name_with_id()
        ));
    }
    if summary.without_tactics > 0 {
        insights.push(format!(
            "{} incidents carry no MITRE tactic: map their analytics rules to ATT&CK so they can be prioritised.",
            summary.without_tactics
        ));
    }
    insights.extend(crate::present::unusual_volume(summary));
    insights
}
