//! The LLM client: OpenAI, Azure OpenAI and any OpenAI-compatible chat completions server,
//! with a timeout, bounded retries on 429/5xx (honouring Retry-After), a per-report token
//! budget and usage accounting. Knows nothing of incidents or chat platforms.

use crate::config::{LlmConfig, LlmProvider};
use crate::upstream::{self, Upstream};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Default OpenAI base URL.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// Azure OpenAI api-version used when the config names none.
pub const DEFAULT_AZURE_API_VERSION: &str = "2024-10-21";
/// Attempts per call, including the first.
const MAX_ATTEMPTS: u32 = 3;
/// Longest Retry-After we honour; a longer wait would outlive the chat request anyway.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);
/// Tokens the model may write in one answer.
const MAX_ANSWER_TOKENS: u32 = 800;

/// Why a model call gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    /// The config is incomplete, e.g. Azure without a base URL.
    #[error("the [llm] settings are incomplete: {0}")]
    Config(String),
    /// No answer within the timeout.
    #[error("the model did not answer within {0} seconds")]
    Timeout(u64),
    /// The server answered with an error status after retries.
    #[error("the model server answered HTTP {0}")]
    Status(u16),
    /// Connection or protocol failure.
    #[error("the model server could not be reached: {0}")]
    Transport(String),
    /// The answer was not a chat completion.
    #[error("the model's answer could not be read: {0}")]
    BadResponse(String),
    /// The report's token budget would be exceeded.
    #[error("the token budget is spent ({remaining} tokens left, about {needed} needed)")]
    BudgetExceeded { needed: u32, remaining: u32 },
}

/// A chat role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    /// A message with a role.
    pub fn new(role: Role, content: impl Into<String>) -> Message {
        Message {
            role,
            content: content.into(),
        }
    }
}

/// Token usage as the server reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub prompt_tokens: u32,
    #[serde(default)]
    pub completion_tokens: u32,
    #[serde(default)]
    pub total_tokens: u32,
}

/// The model's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// `choices[0].message.content`.
    pub content: String,
    pub usage: Usage,
}

/// Tokens one report may still spend; shared by every call made for that report.
#[derive(Debug)]
pub struct TokenBudget {
    remaining: AtomicU64,
}

impl TokenBudget {
    /// A budget of `tokens`.
    pub fn new(tokens: u32) -> TokenBudget {
        TokenBudget {
            remaining: AtomicU64::new(u64::from(tokens)),
        }
    }

    /// Tokens left.
    pub fn remaining(&self) -> u32 {
        u32::try_from(self.remaining.load(Ordering::Relaxed)).unwrap_or(u32::MAX)
    }

    fn spend(&self, tokens: u32) {
        let _ = self
            .remaining
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                Some(left.saturating_sub(u64::from(tokens)))
            });
    }
}

/// Rough token count: about four characters a token for English text and JSON.
pub fn estimate_tokens(text: &str) -> u32 {
    u32::try_from(text.chars().count().div_ceil(4)).unwrap_or(u32::MAX)
}

/// A chat completions client for one configured model.
pub struct LlmClient {
    http: reqwest::Client,
    url: String,
    provider: LlmProvider,
    api_key: Option<SecretString>,
    model: String,
    timeout: Duration,
    /// Default budget of one report.
    token_budget: u32,
    prompt_tokens: AtomicU64,
    completion_tokens: AtomicU64,
}

impl std::fmt::Debug for LlmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key stays out of Debug output.
        f.debug_struct("LlmClient")
            .field("url", &self.url)
            .field("provider", &self.provider)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: &'a [Message],
    temperature: f32,
    max_tokens: u32,
    response_format: ResponseFormat,
}

#[derive(Serialize)]
struct ResponseFormat {
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Deserialize)]
struct ChatResponse {
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Usage,
}

#[derive(Deserialize)]
struct Choice {
    message: ChoiceMessage,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    #[serde(default)]
    content: Option<String>,
}

impl LlmClient {
    /// Builds the client for the configured provider.
    pub fn new(config: &LlmConfig) -> Result<LlmClient, LlmError> {
        let base = config
            .base_url
            .as_deref()
            .map(|base| base.trim_end_matches('/').to_string());
        let url = match config.provider {
            LlmProvider::OpenAi => format!(
                "{}/chat/completions",
                base.unwrap_or_else(|| OPENAI_BASE_URL.to_string())
            ),
            LlmProvider::Compatible => {
                let base = base.ok_or_else(|| {
                    LlmError::Config("a compatible server needs base_url".to_string())
                })?;
                format!("{base}/chat/completions")
            }
            LlmProvider::AzureOpenAi => {
                let base = base
                    .ok_or_else(|| LlmError::Config("Azure OpenAI needs base_url".to_string()))?;
                let version = config
                    .api_version
                    .as_deref()
                    .unwrap_or(DEFAULT_AZURE_API_VERSION);
                format!(
                    "{base}/openai/deployments/{}/chat/completions?api-version={}",
                    urlencoding::encode(&config.model),
                    urlencoding::encode(version)
                )
            }
        };
        if config.provider != LlmProvider::Compatible && config.api_key.is_none() {
            return Err(LlmError::Config("api_key is missing".to_string()));
        }
        let timeout = Duration::from_secs(config.timeout_seconds.max(1));
        Ok(LlmClient {
            http: build_http(timeout)?,
            url,
            provider: config.provider,
            api_key: config.api_key.clone(),
            model: config.model.clone(),
            timeout,
            token_budget: config.token_budget,
            prompt_tokens: AtomicU64::new(0),
            completion_tokens: AtomicU64::new(0),
        })
    }

    /// Replaces the timeout (tests use fractions of a second).
    pub fn with_timeout(mut self, timeout: Duration) -> Result<LlmClient, LlmError> {
        self.http = build_http(timeout)?;
        self.timeout = timeout;
        Ok(self)
    }

    /// The configured budget for one report.
    pub fn token_budget(&self) -> u32 {
        self.token_budget
    }

    /// The configured timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Tokens used since start: (prompt, completion).
    pub fn tokens_used(&self) -> (u64, u64) {
        (
            self.prompt_tokens.load(Ordering::Relaxed),
            self.completion_tokens.load(Ordering::Relaxed),
        )
    }

    /// Sends one chat and returns the model's answer, spending from `budget`.
    pub async fn complete(
        &self,
        messages: &[Message],
        budget: &TokenBudget,
    ) -> Result<Completion, LlmError> {
        let prompt_estimate: u32 = messages
            .iter()
            .map(|message| estimate_tokens(&message.content))
            .sum();
        let needed = prompt_estimate.saturating_add(MAX_ANSWER_TOKENS);
        if needed > budget.remaining() {
            return Err(LlmError::BudgetExceeded {
                needed,
                remaining: budget.remaining(),
            });
        }
        let body = ChatRequest {
            model: &self.model,
            messages,
            temperature: 0.2,
            max_tokens: MAX_ANSWER_TOKENS,
            response_format: ResponseFormat {
                kind: "json_object",
            },
        };
        let mut attempt = 1;
        let response = loop {
            let mut request = self.http.post(&self.url).json(&body);
            if let Some(key) = &self.api_key {
                request = match self.provider {
                    LlmProvider::AzureOpenAi => request.header("api-key", key.expose_secret()),
                    LlmProvider::OpenAi | LlmProvider::Compatible => {
                        request.bearer_auth(key.expose_secret())
                    }
                };
            }
            let response = upstream::send(Upstream::Llm, request)
                .await
                .map_err(|error| self.transport(error))?;
            let status = response.status();
            let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
            if status.is_success() || !retryable || attempt >= MAX_ATTEMPTS {
                break response;
            }
            let wait = retry_after(&response).unwrap_or_else(|| backoff(attempt));
            tracing::warn!(%status, attempt, wait_ms = wait.as_millis() as u64, "model call will be retried");
            tokio::time::sleep(wait).await;
            attempt += 1;
        };
        let status = response.status();
        if !status.is_success() {
            return Err(LlmError::Status(status.as_u16()));
        }
        let parsed: ChatResponse = response
            .json()
            .await
            .map_err(|error| self.read_error(&error))?;
        let content = parsed
            .choices
            .into_iter()
            .next()
            .and_then(|choice| choice.message.content)
            .ok_or_else(|| LlmError::BadResponse("no choices[0].message.content".to_string()))?;
        let usage = parsed.usage;
        // Servers that report no usage are charged the estimate, so the budget still binds.
        let spent = if usage.total_tokens > 0 {
            usage.total_tokens
        } else {
            prompt_estimate.saturating_add(estimate_tokens(&content))
        };
        budget.spend(spent);
        self.prompt_tokens
            .fetch_add(u64::from(usage.prompt_tokens), Ordering::Relaxed);
        self.completion_tokens
            .fetch_add(u64::from(usage.completion_tokens), Ordering::Relaxed);
        metrics::counter!("llm_tokens_total", "kind" => "prompt")
            .increment(u64::from(usage.prompt_tokens));
        metrics::counter!("llm_tokens_total", "kind" => "completion")
            .increment(u64::from(usage.completion_tokens));
        Ok(Completion { content, usage })
    }

    fn transport(&self, error: reqwest::Error) -> LlmError {
        if error.is_timeout() {
            LlmError::Timeout(self.timeout.as_secs().max(1))
        } else {
            // Without the URL: it may carry the Azure resource name, which is not secret
            // but is noise in chat.
            LlmError::Transport(error.without_url().to_string())
        }
    }

    fn read_error(&self, error: &reqwest::Error) -> LlmError {
        if error.is_timeout() {
            LlmError::Timeout(self.timeout.as_secs().max(1))
        } else {
            LlmError::BadResponse(error.to_string())
        }
    }
}

fn build_http(timeout: Duration) -> Result<reqwest::Client, LlmError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|error| LlmError::Config(error.to_string()))
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let seconds: u64 = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250 * 2u64.pow(attempt.saturating_sub(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(provider: LlmProvider, base_url: Option<&str>) -> LlmConfig {
        LlmConfig {
            provider,
            base_url: base_url.map(str::to_string),
            api_key: Some(SecretString::from("sk-test")),
            model: "gpt-test".to_string(),
            api_version: None,
            token_budget: 1000,
            timeout_seconds: 5,
        }
    }

    #[test]
    fn urls_follow_each_provider() {
        let openai = LlmClient::new(&config(LlmProvider::OpenAi, None)).expect("client");
        assert_eq!(openai.url, "https://api.openai.com/v1/chat/completions");
        let azure = LlmClient::new(&config(
            LlmProvider::AzureOpenAi,
            Some("https://x.openai.azure.com/"),
        ))
        .expect("client");
        assert_eq!(
            azure.url,
            "https://x.openai.azure.com/openai/deployments/gpt-test/chat/completions?api-version=2024-10-21"
        );
        assert!(matches!(
            LlmClient::new(&config(LlmProvider::Compatible, None)),
            Err(LlmError::Config(_))
        ));
    }

    #[test]
    fn debug_hides_the_key() {
        let client = LlmClient::new(&config(LlmProvider::OpenAi, None)).expect("client");
        assert!(!format!("{client:?}").contains("sk-test"));
    }

    #[test]
    fn budget_spends_down_and_saturates() {
        let budget = TokenBudget::new(100);
        budget.spend(40);
        assert_eq!(budget.remaining(), 60);
        budget.spend(100);
        assert_eq!(budget.remaining(), 0);
    }
}
