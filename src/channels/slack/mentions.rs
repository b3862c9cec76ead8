//! Slack text as the core reads it: decoded by [`super::text`], the bot's own mentions
//! dropped, and every other user mention resolved through users.info into a user argument:
//! the person's e-mail stands in the text and `Request::mentions` says who they are.

use super::text::{self, Piece};
use super::web_api::WebApi;
use crate::bot::Request;
use crate::bot::people::{Identity, Mention};

/// `request` with its raw Slack text (a slash command's `text` or an event's `text`) decoded.
/// `bot_user` is the bot's own user id; when unknown, leading mentions are taken as the bot's.
pub async fn read_request(api: &WebApi, mut request: Request, bot_user: Option<&str>) -> Request {
    let (text, mentions) = read(api, &request.text, bot_user).await;
    request.text = text;
    request.mentions = mentions;
    request
}

/// Decoded text and the people it mentions. Never fails: a mention Slack cannot resolve
/// stays as `@name`, with what is missing in its `Mention::missing`.
pub async fn read(api: &WebApi, raw: &str, bot_user: Option<&str>) -> (String, Vec<Mention>) {
    let mut out = String::new();
    let mut mentions: Vec<Mention> = Vec::new();
    for piece in text::parse(raw) {
        match piece {
            Piece::Text(part) => out.push_str(&part),
            Piece::User { id, .. }
                if bot_user == Some(id.as_str())
                    || (bot_user.is_none() && out.trim().is_empty()) =>
            {
                out.push(' ');
            }
            Piece::User { id, label } => {
                let mention = resolve(api, &id, label.as_deref()).await;
                out.push_str(&mention.key);
                if !mentions.iter().any(|known| known.key == mention.key) {
                    mentions.push(mention);
                }
            }
        }
    }
    let text = crate::channels::without_invisible(&out)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (text, mentions)
}

/// Who `<@id|label>` is: their e-mail from users.info, or `@label` and why not.
async fn resolve(api: &WebApi, id: &str, label: Option<&str>) -> Mention {
    let handle: String = label
        .unwrap_or(id)
        .trim_start_matches('@')
        .chars()
        .filter(|c| c.is_alphanumeric() || "._-".contains(*c))
        .collect();
    let placeholder = format!("@{}", if handle.is_empty() { id } else { &handle });
    match api.user(id).await {
        Ok(user) => match user.email {
            Some(email) => Mention {
                key: email.clone(),
                identity: Identity {
                    name: user.name,
                    email: Some(email),
                    object_id: None,
                },
                missing: None,
            },
            None => Mention {
                key: placeholder,
                identity: Identity {
                    name: user.name,
                    ..Identity::default()
                },
                missing: Some(
                    "Slack did not share their e-mail address (the Slack app needs the users:read.email scope)"
                        .to_string(),
                ),
            },
        },
        Err(error) => {
            tracing::warn!(%error, "could not resolve a Slack mention");
            Mention {
                key: placeholder,
                identity: Identity {
                    name: label.map(str::to_string),
                    ..Identity::default()
                },
                missing: Some(format!("Slack could not say who they are ({error})")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;
    use serde_json::json;
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    #[tokio::test]
    async fn zero_width_spaces_and_byte_order_marks_are_ignored() {
        // No user mention, so no users.info call: an address nothing listens on will do.
        let api = WebApi::new("http://127.0.0.1:9", SecretString::from("xoxb-test"));
        let raw = "\u{FEFF}comment\u{200B} 42 host-7 &amp;\u{2060} more";
        let (text, mentions) = read(&api, raw, None).await;
        assert_eq!(text, "comment 42 host-7 & more");
        assert!(mentions.is_empty());
    }

    #[tokio::test]
    async fn the_bots_mentions_go_and_other_mentions_become_their_email() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/users.info"))
            .and(query_param("user", "UANA"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "ok": true,
                "user": {"id": "UANA", "name": "ana", "real_name": "Ana Example",
                         "profile": {"email": "ana@contoso.com", "real_name": "Ana Example"}}
            })))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/users.info"))
            .and(query_param("user", "UNOMAIL"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "ok": true,
                "user": {"id": "UNOMAIL", "name": "sam", "real_name": "Sam Doe", "profile": {"real_name": "Sam Doe"}}
            })))
            .mount(&server)
            .await;
        let api = WebApi::new(&server.uri(), SecretString::from("xoxb-test"));

        let (text, mentions) = read(&api, "<@UBOT> assign 5 <@UANA>", Some("UBOT")).await;
        assert_eq!(text, "assign 5 ana@contoso.com");
        assert_eq!(mentions.len(), 1);
        assert_eq!(mentions[0].key, "ana@contoso.com");
        assert_eq!(mentions[0].identity.name.as_deref(), Some("Ana Example"));

        // With the bot's id unknown, leading mentions are taken as the bot's.
        let (text, mentions) = read(&api, "<@UX> <@UY> help", None).await;
        assert_eq!((text.as_str(), mentions.len()), ("help", 0));

        let (text, mentions) = read(&api, "assign 5 <@UNOMAIL|sam>", None).await;
        assert_eq!(text, "assign 5 @sam");
        assert_eq!(mentions[0].identity.name.as_deref(), Some("Sam Doe"));
        assert!(
            mentions[0]
                .missing
                .as_deref()
                .is_some_and(|why| why.contains("users:read.email")),
            "{mentions:?}"
        );
    }
}
