//! `POST /api/triage`: the webhook a Sentinel automation rule's playbook calls for each new
//! incident. The caller proves itself with a shared secret (`Authorization: Bearer ...`,
//! compared in constant time) before the body is read. The body is the playbook's incident
//! trigger payload (`object.properties.incidentNumber`, with the incident's workspace in
//! `workspaceId` and `workspaceInfo.WorkspaceName`) or simply `{"incidentNumber": N}`,
//! optionally with `"workspace"` (a short name, resource name or id).

use crate::incident::{IncidentRef, is_workspace_name};
use crate::triage::{Outcome, Triage, TriageError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// What the webhook handler shares.
#[derive(Clone)]
pub struct WebhookState {
    pub triage: Arc<Triage>,
    pub secret: SecretString,
}

/// The webhook route.
pub fn router(state: WebhookState) -> Router {
    Router::new()
        .route("/api/triage", post(handle))
        .with_state(state)
}

/// Triages the incident before answering, so the playbook sees the outcome and its retry
/// policy covers failures (the mark is released on failure, so a retry comments once).
async fn handle(State(state): State<WebhookState>, headers: HeaderMap, body: Bytes) -> Response {
    if !authorised(&headers, &state.secret) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "missing or wrong webhook secret",
        )
            .into_response();
    }
    let reference = match incident_number(&body) {
        Ok(reference) => reference,
        Err(message) => return (StatusCode::BAD_REQUEST, message).into_response(),
    };
    let number = reference.number;
    let triaged = match state.triage.locate(&reference).await {
        Ok(key) => state.triage.incident(key, Utc::now()).await,
        Err(error) => Err(error),
    };
    match triaged {
        Ok(outcome) => {
            let outcome = match outcome {
                Outcome::Commented { announced: true } => "commented and announced",
                Outcome::Commented { announced: false } => "commented",
                Outcome::AlreadyTriaged => "already triaged",
                Outcome::Closed => "closed; not triaged",
            };
            axum::Json(json!({ "incidentNumber": number, "outcome": outcome })).into_response()
        }
        Err(TriageError::Source(crate::sources::SourceError::NotFound(_))) => (
            StatusCode::NOT_FOUND,
            format!("incident {reference} was not found"),
        )
            .into_response(),
        Err(
            error @ (TriageError::Ambiguous(_)
            | TriageError::Source(crate::sources::SourceError::NoSuchWorkspace { .. })),
        ) => (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
        Err(error) => (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    }
}

fn authorised(headers: &HeaderMap, secret: &SecretString) -> bool {
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
    else {
        return false;
    };
    let expected = secret.expose_secret().as_bytes();
    // An empty configured secret would let an empty token in.
    !expected.is_empty() && bool::from(token.as_bytes().ct_eq(expected))
}

/// Reads the incident number, and its workspace when the body names one, from the
/// playbook's incident trigger body or a plain object.
fn incident_number(body: &[u8]) -> Result<IncidentRef, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|error| format!("the body is not JSON: {error}"))?;
    let number = [
        "/incidentNumber",
        "/object/properties/incidentNumber",
        "/properties/incidentNumber",
    ]
    .iter()
    .find_map(|pointer| value.pointer(pointer))
    .and_then(Value::as_u64)
    .ok_or_else(|| {
        "expected a positive incidentNumber (or the incident trigger's object.properties.incidentNumber)".to_string()
    })?;
    let workspace = ["/workspaceId", "/workspaceInfo/WorkspaceName", "/workspace"]
        .iter()
        .find_map(|pointer| value.pointer(pointer).and_then(Value::as_str))
        .map(|name| match is_workspace_name(name) {
            true => Ok(name.to_string()),
            false => Err("the workspace is not a workspace name or id".to_string()),
        })
        .transpose()?;
    Ok(IncidentRef { number, workspace })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_number_from_either_shape() {
        assert_eq!(incident_number(br#"{"incidentNumber": 7}"#), Ok(7.into()));
        assert_eq!(
            incident_number(br#"{"object":{"properties":{"incidentNumber":1234,"title":"x"}}}"#),
            Ok(1234.into())
        );
        // The incident trigger names the incident's workspace.
        assert_eq!(
            incident_number(
                br#"{"workspaceInfo":{"SubscriptionId":"s","ResourceGroupName":"rg","WorkspaceName":"ws-fabrikam"},"workspaceId":"8d300aff-d535-4430-9eef-3046965c48cf","object":{"properties":{"incidentNumber":5}}}"#
            ),
            Ok(IncidentRef {
                number: 5,
                workspace: Some("8d300aff-d535-4430-9eef-3046965c48cf".to_string())
            })
        );
        assert_eq!(
            incident_number(br#"{"incidentNumber": 5, "workspace": "fabrikam"}"#),
            Ok(IncidentRef {
                number: 5,
                workspace: Some("fabrikam".to_string())
            })
        );
        assert!(incident_number(br#"{"incidentNumber": 5, "workspace": "<!here>"}"#).is_err());
        assert!(incident_number(br#"{"incidentNumber": "7; drop"}"#).is_err());
        assert!(incident_number(br#"{"incidentNumber": -1}"#).is_err());
        assert!(
            incident_number(b"not json")
                .unwrap_err()
                .contains("not JSON")
        );
    }

    #[test]
    fn only_the_exact_bearer_secret_is_accepted() {
        let secret = SecretString::from("s3cret-value");
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value.parse().unwrap());
            headers
        };
        assert!(authorised(&with("Bearer s3cret-value"), &secret));
        assert!(!authorised(&with("Bearer s3cret-valu"), &secret));
        assert!(!authorised(&with("bearer s3cret-value"), &secret));
        assert!(!authorised(&with("s3cret-value"), &secret));
        assert!(!authorised(&HeaderMap::new(), &secret));
        assert!(!authorised(&with("Bearer "), &SecretString::from("")));
    }
}
