//! The core's `Directory` over the real APIs: group membership from Microsoft Graph for Entra
//! users (Teams) and from the Slack Web API for Slack users, chosen by the user's realm; who
//! a Slack user is (users.info, cached by the client); Entra users by UPN, e-mail or object id
//! (Graph). Wiring, like `app`: the core owns the trait, the clients own the wire formats,
//! this joins them.

use crate::bot::people::{Identity, LookupError};
use crate::bot::permissions::{Directory, DirectoryError};
use crate::bot::{Realm, User};
use crate::channels::slack::WebApi;
use crate::channels::slack::WebApiError;
use crate::sources::SourceError;
use crate::sources::azure::AzureSource;
use async_trait::async_trait;
use std::sync::Arc;

/// Answers membership from Entra ID or Slack, whichever issued the user's id.
pub struct GroupDirectory {
    /// Graph through the Azure clients; `None` without an `[azure]` section.
    pub entra: Option<Arc<AzureSource>>,
    /// The Slack Web API; `None` without a `[slack]` section.
    pub slack: Option<Arc<WebApi>>,
}

/// An Entra group object id: a hyphenated GUID.
fn is_entra_group(id: &str) -> bool {
    id.len() == 36 && uuid::Uuid::parse_str(id).is_ok()
}

/// A Slack user group id: `S` then letters and digits.
fn is_slack_group(id: &str) -> bool {
    id.len() > 1 && id.starts_with('S') && id.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Configured group ids that are neither Entra nor Slack group ids, and so never match.
pub fn unrecognised_groups(groups: &[String]) -> Vec<&str> {
    groups
        .iter()
        .map(String::as_str)
        .filter(|id| !is_entra_group(id) && !is_slack_group(id))
        .collect()
}

impl GroupDirectory {
    async fn entra_member(&self, user: &User, groups: &[String]) -> Result<bool, DirectoryError> {
        // Graph fails a whole request over one malformed id, so only GUIDs are sent.
        let wanted: Vec<String> = groups
            .iter()
            .filter(|id| is_entra_group(id))
            .cloned()
            .collect();
        if wanted.is_empty() {
            return Ok(false);
        }
        let Some(azure) = &self.entra else {
            return Err(DirectoryError(
                "Entra groups are checked through Microsoft Graph, which needs the [azure] section"
                    .to_string(),
            ));
        };
        let found = azure
            .member_groups(&user.id, &wanted)
            .await
            .map_err(|error| DirectoryError(error.to_string()))?;
        // Only ids we asked about count, whatever else an answer might hold.
        Ok(found
            .iter()
            .any(|id| wanted.iter().any(|asked| asked.eq_ignore_ascii_case(id))))
    }

    async fn slack_member(&self, user: &User, groups: &[String]) -> Result<bool, DirectoryError> {
        let wanted: Vec<&String> = groups.iter().filter(|id| is_slack_group(id)).collect();
        if wanted.is_empty() {
            return Ok(false);
        }
        let Some(slack) = &self.slack else {
            return Err(DirectoryError(
                "Slack user groups need the [slack] section".to_string(),
            ));
        };
        // A failure on one group must not hide membership of another, but if none
        // matched and any failed, the answer is unknown, not no.
        let mut failure = None;
        for group in wanted {
            match slack.usergroup_members(group).await {
                Ok(members) if members.contains(&user.id) => return Ok(true),
                Ok(_) => {}
                Err(error) => failure = failure.or(Some(DirectoryError(error.to_string()))),
            }
        }
        failure.map_or(Ok(false), Err)
    }
}

#[async_trait]
impl Directory for GroupDirectory {
    async fn member_of_any(&self, user: &User, groups: &[String]) -> Result<bool, DirectoryError> {
        match user.realm {
            Realm::Entra => self.entra_member(user, groups).await,
            Realm::Slack => self.slack_member(user, groups).await,
            Realm::Local => Err(DirectoryError(
                "your user id comes from neither Entra ID nor Slack, so no directory can be asked"
                    .to_string(),
            )),
        }
    }

    async fn identify(&self, user: &User) -> Result<Identity, LookupError> {
        match user.realm {
            Realm::Slack => {
                let Some(slack) = &self.slack else {
                    return Err(LookupError::NotConfigured(
                        "Slack users are looked up through the Slack Web API, which needs the [slack] section".to_string(),
                    ));
                };
                let found = slack.user(&user.id).await.map_err(slack_lookup_error)?;
                Ok(Identity {
                    name: found.name,
                    email: found.email,
                    object_id: None,
                })
            }
            Realm::Entra => Ok(Identity {
                name: user.name.clone(),
                email: user.email.clone(),
                object_id: Some(user.id.clone()),
            }),
            Realm::Local => Err(LookupError::NotConfigured(
                "your user id comes from neither Entra ID nor Slack".to_string(),
            )),
        }
    }

    async fn entra_user(&self, key: &str) -> Result<Identity, LookupError> {
        let Some(azure) = &self.entra else {
            return Err(LookupError::NotConfigured(
                "Entra ID users are looked up through Microsoft Graph, which needs the [azure] section".to_string(),
            ));
        };
        match azure.entra_user(key).await {
            Ok(Some(found)) => Ok(Identity {
                name: found.display_name,
                email: found.user_principal_name.or(found.mail),
                object_id: Some(found.id),
            }),
            Ok(None) => Err(LookupError::NotFound(format!(
                "Microsoft Graph knows no user `{key}`"
            ))),
            Err(SourceError::Unavailable { system, reason }) => Err(LookupError::Failed(format!(
                "{system} refused the lookup ({reason}); the bot's app registration needs the User.Read.All application permission"
            ))),
            Err(error) => Err(LookupError::Failed(error.to_string())),
        }
    }
}

/// Says which Slack scope is missing when that is why users.info failed.
fn slack_lookup_error(error: WebApiError) -> LookupError {
    match &error {
        WebApiError::Slack { code, .. } if code == "missing_scope" => LookupError::Failed(format!(
            "{error} (the Slack app needs the users:read and users:read.email scopes)"
        )),
        WebApiError::Slack { code, .. } if code == "user_not_found" => {
            LookupError::NotFound(error.to_string())
        }
        _ => LookupError::Failed(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AzureAuth, AzureConfig, AzureEndpoints};
    use crate::sources::azure::RetryPolicy;
    use secrecy::SecretString;
    use serde_json::json;
    use std::time::Duration;
    use wiremock::matchers::{body_json, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const ENTRA_GROUP: &str = "6f1c2a34-1b2c-4d5e-8f90-1234567890ab";

    fn groups() -> Vec<String> {
        vec![
            ENTRA_GROUP.to_string(),
            "S0SOC".to_string(),
            "typo".to_string(),
        ]
    }

    fn azure(server: &MockServer) -> Arc<AzureSource> {
        let config = AzureConfig {
            tenant_id: "tenant-1".into(),
            client_id: Some("app-1".into()),
            client_secret: Some(SecretString::from("s3cret")),
            auth: AzureAuth::ClientSecret,
            federated_token_file: None,
            subscription_id: "sub-1".into(),
            resource_group: "rg".into(),
            workspace_name: "ws".into(),
            workspace_id: "ws-id".into(),
            short_name: None,
            extra_workspace_ids: Vec::new(),
            extra_workspaces: Vec::new(),
            // Group checks do not depend on the Graph security APIs being turned on.
            use_graph: false,
            aggregate_above: crate::config::DEFAULT_AGGREGATE_ABOVE,
            endpoints: AzureEndpoints {
                login: server.uri(),
                log_analytics: server.uri(),
                management: server.uri(),
                graph: server.uri(),
                imds: server.uri(),
            },
        };
        let policy = RetryPolicy {
            attempts: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            timeout: Duration::from_secs(5),
        };
        Arc::new(AzureSource::with_policy(&config, reqwest::Client::new(), policy).expect("azure"))
    }

    fn user(id: &str, realm: Realm) -> User {
        User {
            id: id.to_string(),
            realm,
            ..User::default()
        }
    }

    #[tokio::test]
    async fn each_realm_asks_its_own_directory_with_only_its_own_group_ids() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/tenant-1/oauth2/v2.0/token"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"expires_in": 3600, "access_token": "tok"})),
            )
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v1.0/users/entra-user/checkMemberGroups"))
            .and(body_json(json!({"groupIds": [ENTRA_GROUP]})))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [ENTRA_GROUP]})))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/usergroups.users.list"))
            .and(query_param("usergroup", "S0SOC"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"ok": true, "users": ["U-IN"]})),
            )
            .expect(2)
            .mount(&server)
            .await;
        let directory = GroupDirectory {
            entra: Some(azure(&server)),
            slack: Some(Arc::new(WebApi::new(
                &server.uri(),
                SecretString::from("xoxb-test"),
            ))),
        };
        let entra = user("entra-user", Realm::Entra);
        assert_eq!(directory.member_of_any(&entra, &groups()).await, Ok(true));
        let slack_in = user("U-IN", Realm::Slack);
        assert_eq!(
            directory.member_of_any(&slack_in, &groups()).await,
            Ok(true)
        );
        let slack_out = user("U-OUT", Realm::Slack);
        assert_eq!(
            directory.member_of_any(&slack_out, &groups()).await,
            Ok(false)
        );
        let local = user("cli", Realm::Local);
        assert!(directory.member_of_any(&local, &groups()).await.is_err());
    }

    #[tokio::test]
    async fn a_missing_directory_is_an_error_and_foreign_ids_need_none() {
        let directory = GroupDirectory {
            entra: None,
            slack: None,
        };
        let entra = user("entra-user", Realm::Entra);
        let error = directory
            .member_of_any(&entra, &groups())
            .await
            .expect_err("no Graph");
        assert!(error.0.contains("[azure]"), "{error}");
        // Only Slack groups configured: an Entra user is simply not a member.
        let slack_only = vec!["S0SOC".to_string()];
        assert_eq!(
            directory.member_of_any(&entra, &slack_only).await,
            Ok(false)
        );
    }

    #[tokio::test]
    async fn entra_users_are_found_by_upn_else_by_mail_and_failures_say_why() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/tenant-1/oauth2/v2.0/token"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"expires_in": 3600, "access_token": "tok"})),
            )
            .mount(&server)
            .await;
        let select = "id,displayName,mail,userPrincipalName";
        // The e-mail is not the UPN: `users/{key}` is 404, the mail filter finds the user.
        Mock::given(method("GET"))
            .and(path("/v1.0/users/dana%40contoso.com"))
            .and(query_param("$select", select))
            .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": {
                "code": "Request_ResourceNotFound",
                "message": "Resource 'dana@contoso.com' does not exist or one of its queried reference-property objects are not present."
            }})))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v1.0/users"))
            .and(query_param("$filter", "mail eq 'dana@contoso.com'"))
            .and(query_param("$select", select))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users(id,displayName,mail,userPrincipalName)",
                "value": [{"id": ENTRA_GROUP, "displayName": "Dana Example", "mail": "dana@contoso.com", "userPrincipalName": "dana.example@contoso.onmicrosoft.com"}]
            })))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v1.0/users/o%27brien%40contoso.com"))
            .respond_with(ResponseTemplate::new(404))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v1.0/users"))
            .and(query_param("$filter", "mail eq 'o''brien@contoso.com'"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v1.0/users/forbidden%40contoso.com"))
            .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": {
                "code": "Authorization_RequestDenied",
                "message": "Insufficient privileges to complete the operation."
            }})))
            .mount(&server)
            .await;
        let directory = GroupDirectory {
            entra: Some(azure(&server)),
            slack: None,
        };
        assert_eq!(
            directory.entra_user("dana@contoso.com").await,
            Ok(Identity {
                name: Some("Dana Example".to_string()),
                email: Some("dana.example@contoso.onmicrosoft.com".to_string()),
                object_id: Some(ENTRA_GROUP.to_string()),
            })
        );
        assert!(matches!(
            directory.entra_user("o'brien@contoso.com").await,
            Err(LookupError::NotFound(_))
        ));
        let Err(LookupError::Failed(reason)) = directory.entra_user("forbidden@contoso.com").await
        else {
            panic!("a 403 is a failure");
        };
        assert!(reason.contains("User.Read.All"), "{reason}");
        assert!(reason.contains("Insufficient privileges"), "{reason}");
        let none = GroupDirectory {
            entra: None,
            slack: None,
        };
        assert!(matches!(
            none.entra_user("dana@contoso.com").await,
            Err(LookupError::NotConfigured(_))
        ));
    }

    #[test]
    fn group_ids_are_told_apart() {
        assert!(is_entra_group(ENTRA_GROUP));
        assert!(!is_entra_group("S0SOC"));
        assert!(is_slack_group("S0604QSJC"));
        assert!(!is_slack_group("S"));
        assert!(!is_slack_group("U0604QSJC"));
        assert_eq!(unrecognised_groups(&groups()), vec!["typo"]);
    }
}
