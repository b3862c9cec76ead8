//! The row rules: one `SecurityIncident` row (values positioned like the table's columns)
//! into an [`IncidentRow`]. Both readers use them: the streaming one feeds each value
//! straight from the JSON text through [`RowBuilder::row_seed`], the generic one from
//! JSON values through [`RowBuilder::push_values`]; the rules live once, in [`build`].
//!
//! A row without a readable `IncidentNumber`, `TimeGenerated` or `CreatedTime` is skipped
//! and counted by reason ([`Skipped`]), so the answer can say what its figures leave out;
//! times are read in every form [`datetime::parse`] accepts (a `CreatedTime` without a zone
//! is UTC). Unknown severities read as Informational and unknown statuses as Active (still
//! counted as open, so nothing disappears from a report), with a warning. Dynamic columns
//! (`Owner`, `AdditionalData`, `AlertIds`, `Labels`) come as JSON text from the service;
//! real JSON is taken too.

use super::text_pool::TextPool;
use super::{Column, WorkspaceMap};
use crate::incident::{
    ArcStr, Classification, Incident, IncidentRow, Owner, RequiredColumn, Severity, SkipReason,
    Skipped, Status, Tactic, Workspace,
};
use crate::sources::azure::datetime;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

/// Text columns the rows keep (non-empty strings only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Text {
    IncidentName,
    Title,
    Description,
    Severity,
    Status,
    Classification,
    ClassificationComment,
    IncidentUrl,
    ModifiedBy,
    /// In a cross-workspace answer, the workspace id of the row's workspace.
    TenantId,
}

/// Time columns (text in a form [`datetime::parse`] accepts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[expect(
    clippy::enum_variant_names,
    reason = "the variants are the SecurityIncident column names"
)]
enum Time {
    TimeGenerated,
    CreatedTime,
    LastModifiedTime,
    ClosedTime,
    FirstModifiedTime,
    FirstHumanAction,
}

/// What a column is to the row rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Ignore,
    IncidentNumber,
    Time(Time),
    Text(Text),
    Owner,
    AdditionalData,
    AlertIds,
    Labels,
}

fn field(name: &str) -> Field {
    match name {
        "IncidentNumber" => Field::IncidentNumber,
        "TimeGenerated" => Field::Time(Time::TimeGenerated),
        "CreatedTime" => Field::Time(Time::CreatedTime),
        "LastModifiedTime" => Field::Time(Time::LastModifiedTime),
        "ClosedTime" => Field::Time(Time::ClosedTime),
        "FirstModifiedTime" => Field::Time(Time::FirstModifiedTime),
        "FirstHumanAction" => Field::Time(Time::FirstHumanAction),
        "IncidentName" => Field::Text(Text::IncidentName),
        "Title" => Field::Text(Text::Title),
        "Description" => Field::Text(Text::Description),
        "Severity" => Field::Text(Text::Severity),
        "Status" => Field::Text(Text::Status),
        "Classification" => Field::Text(Text::Classification),
        "ClassificationComment" => Field::Text(Text::ClassificationComment),
        "IncidentUrl" => Field::Text(Text::IncidentUrl),
        "ModifiedBy" => Field::Text(Text::ModifiedBy),
        "TenantId" => Field::Text(Text::TenantId),
        "Owner" => Field::Owner,
        "AdditionalData" => Field::AdditionalData,
        "AlertIds" => Field::AlertIds,
        "Labels" => Field::Labels,
        _ => Field::Ignore,
    }
}

/// What each column position means. When a name repeats, its last column counts.
#[derive(Debug, Clone)]
pub(super) struct ColumnPlan(Vec<Field>);

impl ColumnPlan {
    pub(super) fn new(columns: &[Column]) -> ColumnPlan {
        let last: HashMap<&str, usize> = columns
            .iter()
            .enumerate()
            .map(|(index, column)| (column.name.as_str(), index))
            .collect();
        ColumnPlan(
            columns
                .iter()
                .enumerate()
                .map(|(index, column)| match last.get(column.name.as_str()) {
                    Some(&kept) if kept == index => field(&column.name),
                    _ => Field::Ignore,
                })
                .collect(),
        )
    }

    fn at(&self, index: usize) -> Field {
        self.0.get(index).copied().unwrap_or(Field::Ignore)
    }
}

/// The fields of `AdditionalData` the bot reads.
#[derive(Debug, Default)]
struct Additional {
    tactics: Vec<String>,
    techniques: Vec<String>,
    alert_products: Vec<String>,
    provider_incident_url: Option<String>,
}

/// The fields of `Owner` the bot reads.
#[derive(Debug, Default)]
struct OwnerFields {
    assigned_to: Option<String>,
    email: Option<String>,
    user_principal_name: Option<String>,
    object_id: Option<String>,
}

/// A cell the row rules need to tell apart: absent (null or empty), present but not
/// readable, or read.
#[derive(Debug, Clone, Copy, Default)]
enum Cell<T> {
    #[default]
    Absent,
    Unreadable,
    Read(T),
}

impl<T> Cell<T> {
    fn value(self) -> Option<T> {
        match self {
            Cell::Read(value) => Some(value),
            Cell::Absent | Cell::Unreadable => None,
        }
    }

    /// The value of a column the row cannot be read without, or why it is skipped.
    fn require(self, column: RequiredColumn) -> Result<T, SkipReason> {
        match self {
            Cell::Read(value) => Ok(value),
            Cell::Absent => Err(SkipReason::Missing(column)),
            Cell::Unreadable => Err(SkipReason::Unreadable(column)),
        }
    }
}

/// An `IncidentNumber` given as text.
fn number_text(text: &str) -> Cell<u64> {
    let text = text.trim();
    if text.is_empty() {
        return Cell::Absent;
    }
    text.parse().map_or(Cell::Unreadable, Cell::Read)
}

/// A time given as text.
fn time_text(text: &str) -> Cell<DateTime<Utc>> {
    if text.trim().is_empty() {
        return Cell::Absent;
    }
    datetime::parse(text).map_or(Cell::Unreadable, Cell::Read)
}

/// One row's values as the rules need them; text borrows from the answer where it can.
#[derive(Debug, Default)]
struct RawRow<'a> {
    number: Cell<u64>,
    times: [Cell<DateTime<Utc>>; 6],
    texts: [Option<Cow<'a, str>>; 10],
    owner: Option<OwnerFields>,
    additional: Option<Additional>,
    alert_ids: Vec<String>,
    labels: Vec<String>,
}

impl<'a> RawRow<'a> {
    fn text(&self, which: Text) -> Option<&str> {
        self.texts[which as usize].as_deref()
    }

    fn take_text(&mut self, which: Text) -> Option<String> {
        self.texts[which as usize].take().map(Cow::into_owned)
    }

    fn time(&self, which: Time) -> Option<DateTime<Utc>> {
        self.times[which as usize].value()
    }

    fn required_time(
        &self,
        which: Time,
        column: RequiredColumn,
    ) -> Result<DateTime<Utc>, SkipReason> {
        self.times[which as usize].require(column)
    }

    /// Sets a column from a JSON value (the generic reader's way in).
    fn set_from_value(&mut self, field: Field, value: &'a Value) {
        if value.is_null() {
            return;
        }
        match field {
            Field::Ignore => {}
            Field::IncidentNumber => {
                self.number = match value {
                    Value::Number(number) => number.as_u64().map_or(Cell::Unreadable, Cell::Read),
                    Value::String(text) => number_text(text),
                    _ => Cell::Unreadable,
                }
            }
            Field::Time(which) => {
                self.times[which as usize] = match value {
                    Value::String(text) => time_text(text),
                    _ => Cell::Unreadable,
                };
            }
            Field::Text(which) => {
                self.texts[which as usize] = value
                    .as_str()
                    .filter(|text| !text.is_empty())
                    .map(Cow::Borrowed);
            }
            Field::Owner => self.owner = dynamic(value),
            Field::AdditionalData => self.additional = dynamic(value),
            Field::AlertIds => {
                self.alert_ids = dynamic::<Strings>(value).map(|it| it.0).unwrap_or_default();
            }
            Field::Labels => {
                self.labels = dynamic::<Labels>(value).map(|it| it.0).unwrap_or_default();
            }
        }
    }
}

/// A dynamic column from a JSON value: text holds JSON, anything else is the JSON itself.
/// Unreadable JSON text reads as absent.
fn dynamic<T: de::DeserializeOwned>(value: &Value) -> Option<T> {
    match value {
        Value::String(text) => serde_json::from_str(text).ok(),
        other => T::deserialize(other).ok(),
    }
}

/// The names Sentinel writes parse without the loose (allocating) `FromStr`.
fn severity(text: &str) -> Result<Severity, crate::incident::UnknownValue> {
    Severity::ALL
        .into_iter()
        .find(|it| it.as_str() == text)
        .map_or_else(|| text.parse(), Ok)
}

fn status(text: &str) -> Result<Status, crate::incident::UnknownValue> {
    Status::ALL
        .into_iter()
        .find(|it| it.as_str() == text)
        .map_or_else(|| text.parse(), Ok)
}

fn classification(text: &str) -> Option<Classification> {
    Classification::ALL
        .into_iter()
        .find(|it| it.as_str() == text)
        .or_else(|| text.parse().ok())
}

/// `list` without spare room. A list read from JSON starts with room for four, and a report
/// holds every incident's lists at once: most have one or two entries.
fn exact<T>(mut list: Vec<T>) -> Vec<T> {
    list.shrink_to_fit();
    list
}

/// Each of `texts` shared through `pool`, in a list without spare room.
fn shared(texts: &[String], pool: &mut TextPool) -> Vec<ArcStr> {
    texts.iter().map(|it| pool.share(it)).collect()
}

/// The row rules, for a row of `workspace`; a row is skipped for the first required column
/// it lacks.
fn build(
    mut raw: RawRow<'_>,
    workspace: Workspace,
    pool: &mut TextPool,
) -> Result<IncidentRow, SkipReason> {
    let number = raw.number.require(RequiredColumn::IncidentNumber)?;
    let time_generated = raw.required_time(Time::TimeGenerated, RequiredColumn::TimeGenerated)?;
    let created = raw.required_time(Time::CreatedTime, RequiredColumn::CreatedTime)?;
    let severity = match raw.text(Text::Severity).map(severity) {
        Some(Ok(severity)) => severity,
        other => {
            tracing::warn!(number, value = ?other, "unreadable severity, using Informational");
            Severity::Informational
        }
    };
    let status = match raw.text(Text::Status).map(status) {
        Some(Ok(status)) => status,
        other => {
            tracing::warn!(number, value = ?other, "unreadable status, using Active");
            Status::Active
        }
    };
    let additional = raw.additional.take().unwrap_or_default();
    let owner = raw.owner.take().unwrap_or_default();
    let incident_url = raw.take_text(Text::IncidentUrl);
    let first_modified = raw.time(Time::FirstModifiedTime);
    let first_human_action = raw.time(Time::FirstHumanAction);
    let modified_by = raw.take_text(Text::ModifiedBy);
    let last_modified = raw.time(Time::LastModifiedTime).unwrap_or(time_generated);
    let closed = raw.time(Time::ClosedTime);
    let incident = Incident {
        workspace,
        number,
        id: raw.take_text(Text::IncidentName).unwrap_or_default(),
        title: raw
            .text(Text::Title)
            .map(|it| pool.share(it))
            .unwrap_or_default(),
        // Descriptions of incidents from Defender XDR and some analytics rules are HTML.
        description: raw
            .text(Text::Description)
            .map(|it| pool.description(it))
            .unwrap_or_default(),
        severity,
        status,
        classification: raw.text(Text::Classification).and_then(classification),
        classification_comment: raw
            .text(Text::ClassificationComment)
            .map(|it| pool.share(it)),
        owner: Owner {
            name: owner.assigned_to.map(|it| pool.share(&it)),
            email: owner
                .email
                .or(owner.user_principal_name)
                .map(|it| pool.share(&it)),
            object_id: owner.object_id.map(|it| pool.share(&it)),
        },
        tactics: exact(
            additional
                .tactics
                .iter()
                .map(String::as_str)
                .filter_map(Tactic::read)
                .collect(),
        ),
        techniques: shared(&additional.techniques, pool),
        alert_products: shared(&additional.alert_products, pool),
        alert_ids: exact(raw.alert_ids),
        labels: shared(&raw.labels, pool),
        created,
        first_modified,
        first_human_action,
        last_modified,
        closed,
        // The Defender portal link, when there is one, is the one analysts work in.
        url: additional.provider_incident_url.or(incident_url),
    };
    Ok(IncidentRow {
        time_generated,
        modified_by,
        incident,
    })
}

/// Collects incident rows, counting the unreadable ones by reason.
#[derive(Debug, Default)]
pub(super) struct RowBuilder {
    rows: Vec<IncidentRow>,
    skipped: Skipped,
    /// Which workspace each row's `TenantId` names; empty for a single workspace.
    workspaces: WorkspaceMap,
    /// Rows whose `TenantId` names no configured workspace, counted under the main one.
    unknown_workspace: usize,
    pool: TextPool,
}

impl RowBuilder {
    /// A builder that tags each row with the workspace its `TenantId` names.
    pub(super) fn for_workspaces(workspaces: WorkspaceMap) -> RowBuilder {
        RowBuilder {
            workspaces,
            ..RowBuilder::default()
        }
    }

    fn push(&mut self, raw: RawRow<'_>) {
        let workspace = match self.workspaces.workspace(raw.text(Text::TenantId)) {
            Some(workspace) => workspace,
            None => {
                self.unknown_workspace += 1;
                self.workspaces.main()
            }
        };
        match build(raw, workspace, &mut self.pool) {
            Ok(row) => self.rows.push(row),
            Err(reason) => self.skipped.add(reason),
        }
    }

    /// Adds one row given as JSON values.
    pub(super) fn push_values(&mut self, plan: &ColumnPlan, values: &[Value]) {
        let mut raw = RawRow::default();
        for (index, value) in values.iter().enumerate() {
            raw.set_from_value(plan.at(index), value);
        }
        self.push(raw);
    }

    /// A seed that reads one row (a JSON array) straight from a deserializer and adds it.
    pub(super) fn row_seed<'b>(&'b mut self, plan: &'b ColumnPlan) -> RowSeed<'b> {
        RowSeed {
            plan,
            builder: self,
        }
    }

    /// The rows read, and those skipped by reason.
    pub(super) fn finish(self) -> (Vec<IncidentRow>, Skipped) {
        if self.unknown_workspace > 0 {
            tracing::warn!(
                rows = self.unknown_workspace,
                "SecurityIncident rows whose TenantId is no configured workspace were counted under the main workspace"
            );
        }
        if !self.skipped.is_empty() {
            let reasons: Vec<String> = self
                .skipped
                .by_reason()
                .map(|(reason, rows)| format!("{rows} {reason}"))
                .collect();
            tracing::warn!(
                skipped = self.skipped.rows(),
                reasons = reasons.join(", "),
                "unreadable SecurityIncident rows were skipped"
            );
        }
        (self.rows, self.skipped)
    }
}

/// See [`RowBuilder::row_seed`].
pub(super) struct RowSeed<'b> {
    plan: &'b ColumnPlan,
    builder: &'b mut RowBuilder,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a row (an array of values)")
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<(), S::Error> {
        let mut raw = RawRow::default();
        let mut index = 0;
        while seq
            .next_element_seed(ValueSeed {
                field: self.plan.at(index),
                raw: &mut raw,
            })?
            .is_some()
        {
            index += 1;
        }
        self.builder.push(raw);
        Ok(())
    }
}

/// One value of a row, read as its column needs it.
struct ValueSeed<'r, 'de> {
    field: Field,
    raw: &'r mut RawRow<'de>,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        let raw = self.raw;
        match self.field {
            Field::Ignore => {
                IgnoredAny::deserialize(deserializer)?;
            }
            Field::IncidentNumber => raw.number = deserializer.deserialize_any(NumberVisitor)?,
            Field::Time(which) => {
                raw.times[which as usize] = deserializer.deserialize_any(TimeVisitor)?;
            }
            Field::Text(which) => {
                raw.texts[which as usize] = deserializer.deserialize_any(TextVisitor)?;
            }
            Field::Owner => raw.owner = deserializer.deserialize_any(DynamicVisitor::new())?,
            Field::AdditionalData => {
                raw.additional = deserializer.deserialize_any(DynamicVisitor::new())?;
            }
            Field::AlertIds => {
                raw.alert_ids = deserializer
                    .deserialize_any(DynamicVisitor::<Strings>::new())?
                    .map(|it| it.0)
                    .unwrap_or_default();
            }
            Field::Labels => {
                raw.labels = deserializer
                    .deserialize_any(DynamicVisitor::<Labels>::new())?
                    .map(|it| it.0)
                    .unwrap_or_default();
            }
        }
        Ok(())
    }
}

/// Implements the visitor methods of every JSON kind but objects and arrays as "absent".
macro_rules! absent_scalars {
    ($value:ty) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<$value, E> {
            Ok(Default::default())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<$value, E> {
            Ok(Default::default())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<$value, E> {
            Ok(Default::default())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<$value, E> {
            Ok(Default::default())
        }
        fn visit_unit<E: de::Error>(self) -> Result<$value, E> {
            Ok(Default::default())
        }
        fn visit_none<E: de::Error>(self) -> Result<$value, E> {
            Ok(Default::default())
        }
    };
}

fn drain_seq<'de, S: SeqAccess<'de>>(mut seq: S) -> Result<(), S::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Implements the visitor methods of every JSON kind a required cell cannot be as
/// "unreadable", and null as "absent".
macro_rules! unreadable_kinds {
    ($value:ty) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<$value, E> {
            Ok(Cell::Unreadable)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<$value, E> {
            Ok(Cell::Unreadable)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<$value, E> {
            Ok(Cell::Unreadable)
        }
        fn visit_unit<E: de::Error>(self) -> Result<$value, E> {
            Ok(Cell::Absent)
        }
        fn visit_none<E: de::Error>(self) -> Result<$value, E> {
            Ok(Cell::Absent)
        }
        fn visit_seq<S: SeqAccess<'de>>(self, seq: S) -> Result<$value, S::Error> {
            drain_seq(seq).map(|()| Cell::Unreadable)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<$value, A::Error> {
            drain_map(map).map(|()| Cell::Unreadable)
        }
    };
}

/// `IncidentNumber`: a non-negative integer, or text holding one.
struct NumberVisitor;

impl<'de> Visitor<'de> for NumberVisitor {
    type Value = Cell<u64>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an incident number")
    }

    unreadable_kinds!(Cell<u64>);

    fn visit_u64<E: de::Error>(self, number: u64) -> Result<Cell<u64>, E> {
        Ok(Cell::Read(number))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Cell<u64>, E> {
        Ok(number_text(text))
    }
}

/// A time column: text in a form [`datetime::parse`] accepts.
struct TimeVisitor;

impl<'de> Visitor<'de> for TimeVisitor {
    type Value = Cell<DateTime<Utc>>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a date and time")
    }

    unreadable_kinds!(Cell<DateTime<Utc>>);

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Cell::Unreadable)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(time_text(text))
    }
}

/// A text column: non-empty text, borrowed from the answer when it has no escapes.
struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("text")
    }

    absent_scalars!(Option<Cow<'de, str>>);

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok((!text.is_empty()).then_some(Cow::Borrowed(text)))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok((!text.is_empty()).then(|| Cow::Owned(text.to_string())))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Self::Value, E> {
        Ok((!text.is_empty()).then_some(Cow::Owned(text)))
    }

    fn visit_seq<S: SeqAccess<'de>>(self, seq: S) -> Result<Self::Value, S::Error> {
        drain_seq(seq).map(|()| None)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        drain_map(map).map(|()| None)
    }
}

/// A dynamic column: JSON text is parsed (unreadable text is absent), real JSON read as is.
struct DynamicVisitor<T>(std::marker::PhantomData<T>);

impl<T> DynamicVisitor<T> {
    fn new() -> DynamicVisitor<T> {
        DynamicVisitor(std::marker::PhantomData)
    }
}

impl<'de, T: de::DeserializeOwned> Visitor<'de> for DynamicVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a dynamic value")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Option<T>, E> {
        Ok(serde_json::from_str(text).ok())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Option<T>, E> {
        Ok(T::deserialize(Value::Bool(value)).ok())
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Option<T>, E> {
        Ok(T::deserialize(Value::from(value)).ok())
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Option<T>, E> {
        Ok(T::deserialize(Value::from(value)).ok())
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Option<T>, E> {
        Ok(T::deserialize(Value::from(value)).ok())
    }

    fn visit_seq<S: SeqAccess<'de>>(self, seq: S) -> Result<Option<T>, S::Error> {
        T::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Some)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<T>, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
    }
}

/// Non-empty text, or absent for any other value.
#[derive(Debug, Default)]
struct LooseText(Option<String>);

impl<'de> Deserialize<'de> for LooseText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<LooseText, D::Error> {
        deserializer
            .deserialize_any(TextVisitor)
            .map(|text| LooseText(text.map(Cow::into_owned)))
    }
}

/// An array's non-empty texts (other items skipped); anything but an array is empty.
#[derive(Debug, Default)]
struct Strings(Vec<String>);

impl<'de> Deserialize<'de> for Strings {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Strings, D::Error> {
        deserializer.deserialize_any(StringsVisitor)
    }
}

struct StringsVisitor;

impl<'de> Visitor<'de> for StringsVisitor {
    type Value = Strings;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an array of text")
    }

    absent_scalars!(Strings);

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Strings, E> {
        Ok(Strings::default())
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Strings, S::Error> {
        let mut items = Vec::new();
        while let Some(LooseText(item)) = seq.next_element()? {
            items.extend(item);
        }
        Ok(Strings(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Strings, A::Error> {
        drain_map(map).map(|()| Strings::default())
    }
}

/// `Labels`: an array of label names or `{"labelName": ...}` objects.
#[derive(Debug, Default)]
struct Labels(Vec<String>);

impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Labels, D::Error> {
        deserializer.deserialize_any(LabelsVisitor)
    }
}

struct LabelsVisitor;

impl<'de> Visitor<'de> for LabelsVisitor {
    type Value = Labels;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an array of labels")
    }

    absent_scalars!(Labels);

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Labels, E> {
        Ok(Labels::default())
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Labels, S::Error> {
        let mut items = Vec::new();
        while let Some(Label(item)) = seq.next_element()? {
            items.extend(item);
        }
        Ok(Labels(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Labels, A::Error> {
        drain_map(map).map(|()| Labels::default())
    }
}

/// One label: text as it is (even empty), or an object's non-empty `labelName`.
struct Label(Option<String>);

impl<'de> Deserialize<'de> for Label {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Label, D::Error> {
        deserializer.deserialize_any(LabelVisitor)
    }
}

struct LabelVisitor;

impl<'de> Visitor<'de> for LabelVisitor {
    type Value = Label;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a label")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Label, E> {
        Ok(Label(None))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Label, E> {
        Ok(Label(None))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Label, E> {
        Ok(Label(None))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Label, E> {
        Ok(Label(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Label, E> {
        Ok(Label(None))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Label, E> {
        Ok(Label(Some(text.to_string())))
    }

    fn visit_seq<S: SeqAccess<'de>>(self, seq: S) -> Result<Label, S::Error> {
        drain_seq(seq).map(|()| Label(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Label, A::Error> {
        let mut name = None;
        while let Some(key) = map.next_key_seed(KeySeed(&["labelName"]))? {
            if key == Some(0) {
                name = map.next_value::<LooseText>()?.0;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Label(name))
    }
}

/// An object key looked up in `names` without allocating: its position, or `None`.
struct KeySeed(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<usize>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Option<usize>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|name| *name == key))
    }
}

/// Reads an object's members by name (the last of a repeated name wins, as in a JSON
/// value); anything but an object gives the default.
macro_rules! loose_object {
    ($name:ident, $visitor:ident, $keys:expr, |$target:ident, $key:ident, $map:ident| $body:block) => {
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                deserializer.deserialize_any($visitor)
            }
        }

        struct $visitor;

        impl<'de> Visitor<'de> for $visitor {
            type Value = $name;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("an object")
            }

            absent_scalars!($name);

            fn visit_str<E: de::Error>(self, _: &str) -> Result<$name, E> {
                Ok($name::default())
            }

            fn visit_seq<S: SeqAccess<'de>>(self, seq: S) -> Result<$name, S::Error> {
                drain_seq(seq).map(|()| $name::default())
            }

            fn visit_map<A: MapAccess<'de>>(self, mut $map: A) -> Result<$name, A::Error> {
                let mut $target = $name::default();
                while let Some($key) = $map.next_key_seed(KeySeed($keys))? {
                    $body
                }
                Ok($target)
            }
        }
    };
}

const OWNER_KEYS: &[&str] = &["assignedTo", "email", "userPrincipalName", "objectId"];

loose_object!(OwnerFields, OwnerVisitor, OWNER_KEYS, |owner, key, map| {
    match key {
        Some(0) => owner.assigned_to = map.next_value::<LooseText>()?.0,
        Some(1) => owner.email = map.next_value::<LooseText>()?.0,
        Some(2) => owner.user_principal_name = map.next_value::<LooseText>()?.0,
        Some(3) => owner.object_id = map.next_value::<LooseText>()?.0,
        _ => {
            map.next_value::<IgnoredAny>()?;
        }
    }
});

const ADDITIONAL_KEYS: &[&str] = &[
    "tactics",
    "techniques",
    "alertProductNames",
    "providerIncidentUrl",
];

loose_object!(
    Additional,
    AdditionalVisitor,
    ADDITIONAL_KEYS,
    |data, key, map| {
        match key {
            Some(0) => data.tactics = map.next_value::<Strings>()?.0,
            Some(1) => data.techniques = map.next_value::<Strings>()?.0,
            Some(2) => data.alert_products = map.next_value::<Strings>()?.0,
            Some(3) => data.provider_incident_url = map.next_value::<LooseText>()?.0,
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
    }
);
