//! A real headless Chromium driven over WebDriver (chromedriver), for the page tests.
//!
//! Every host name except 127.0.0.1 is made unresolvable, so a page that needed the
//! network (a CDN, a web font) would break here: the tests run with the network unplugged.
//! A script added before every document records uncaught errors, rejected promises,
//! Content-Security-Policy violations and dialogs, and `problems()` reads them.

use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use tokio::process::{Child, Command};

/// How long a page may take to show what a test waits for; generous for a loaded CI box.
pub const PATIENCE: Duration = Duration::from_secs(20);

const WATCHER: &str = r#"(() => {
  window.__problems = [];
  const note = (what) => window.__problems.push(String(what));
  window.addEventListener("error", (e) => note(`error: ${e.message}`));
  window.addEventListener("unhandledrejection", (e) => note(`rejection: ${e.reason}`));
  document.addEventListener("securitypolicyviolation", (e) => note(`csp: ${e.violatedDirective} ${e.blockedURI}`));
  window.alert = (message) => note(`alert: ${message}`);
})();"#;

pub struct Browser {
    pub client: Client,
    _driver: Child,
}

impl Browser {
    /// A fresh browser (no cache, no storage) with a window of this size.
    pub async fn start(width: u32, height: u32) -> Browser {
        let driver_path = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let port = free_port();
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {driver_path} ({e}): the page tests need Chromium and its \
                     driver (Debian: apt-get install chromium chromium-driver; .ci/run does this)"
                )
            });
        let chrome = std::env::var("CHROME_BIN").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": chrome,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--disable-extensions",
                    "--disable-background-networking",
                    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                    format!("--window-size={width},{height}"),
                ],
            }
        });
        let capabilities = match capabilities {
            Value::Object(map) => map,
            _ => unreachable!("a JSON object literal"),
        };
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + PATIENCE;
        let client = loop {
            let mut builder =
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
            builder.capabilities(capabilities.clone());
            match builder.connect(&url).await {
                Ok(client) => break client,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("chromedriver on {url} did not start a session: {e}"),
            }
        };
        client
            .issue_cmd(Cdp {
                cmd: "Page.addScriptToEvaluateOnNewDocument",
                params: json!({ "source": WATCHER }),
            })
            .await
            .expect("the error watcher is installed");
        Browser {
            client,
            _driver: driver,
        }
    }

    /// A fresh browser that lays pages out as a phone does: 375 CSS pixels wide (headless
    /// windows cannot be narrower than 500, so the viewport is emulated).
    pub async fn start_phone() -> Browser {
        let browser = Browser::start(500, 900).await;
        browser
            .client
            .issue_cmd(Cdp {
                cmd: "Emulation.setDeviceMetricsOverride",
                params: json!({ "width": 375, "height": 812, "deviceScaleFactor": 2, "mobile": true }),
            })
            .await
            .expect("the phone viewport is set");
        browser
    }

    /// Saves what pages download into `dir`, without asking.
    pub async fn download_into(&self, dir: &std::path::Path) {
        self.client
            .issue_cmd(Cdp {
                cmd: "Browser.setDownloadBehavior",
                params: json!({ "behavior": "allow", "downloadPath": dir }),
            })
            .await
            .expect("downloads are allowed");
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("the page loads");
    }

    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} did not appear: {e}"))
    }

    /// Types into a field after clearing it.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("the field clears");
        field.send_keys(text).await.expect("the field takes keys");
    }

    /// Clicks the element; if the page re-rendered it between finding and clicking (a live
    /// update), finds it again.
    pub async fn click(&self, css: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self.find(css).await.click().await {
                Ok(()) => return,
                Err(e) if e.to_string().contains("stale element") && Instant::now() < deadline => {}
                Err(e) => panic!("click {css}: {e}"),
            }
        }
    }

    pub async fn focus(&self, css: &str) {
        let script = format!(
            "document.querySelector({}).focus(); return null;",
            json!(css)
        );
        self.eval(&script).await;
    }

    /// Types into whatever has the focus, as a keyboard would (`\u{E004}` is Tab,
    /// `\u{E007}` Enter).
    pub async fn type_keys(&self, keys: &str) {
        let mut typing = KeyActions::new("keyboard".into());
        for key in keys.chars() {
            typing = typing
                .then(KeyAction::Down { value: key })
                .then(KeyAction::Up { value: key });
        }
        self.client
            .perform_actions(typing)
            .await
            .expect("keys are typed");
    }

    /// Answers "OK" to the confirmation the page is about to ask for.
    pub async fn accept_confirm(&self) {
        let deadline = Instant::now() + PATIENCE;
        while let Err(e) = self.client.accept_alert().await {
            assert!(
                Instant::now() < deadline,
                "no confirmation was asked for: {e}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs a script in the page and returns its value.
    pub async fn eval(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// The visible text of the first element matching `css`, or "" when there is none.
    pub async fn text(&self, css: &str) -> String {
        let script = format!(
            "const e = document.querySelector({}); return e ? e.textContent.trim() : '';",
            json!(css)
        );
        self.eval(&script)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits until `css` shows exactly `expected`; returns what it last showed.
    pub async fn wait_for_text(&self, css: &str, expected: &str) -> String {
        self.wait_for_text_that(css, |shown| shown == expected)
            .await
    }

    /// Waits until `css` shows text containing `part`; returns what it last showed.
    pub async fn wait_for_text_containing(&self, css: &str, part: &str) -> String {
        self.wait_for_text_that(css, |shown| shown.contains(part))
            .await
    }

    async fn wait_for_text_that(&self, css: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let shown = self.text(css).await;
            if wanted(&shown) || Instant::now() > deadline {
                return shown;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the script returns true.
    pub async fn wait_until(&self, script: &str) -> bool {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if self.eval(script).await == Value::Bool(true) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What went wrong in the page since it loaded: uncaught errors, rejected promises,
    /// CSP violations, alerts.
    pub async fn problems(&self) -> Vec<String> {
        let found = self
            .eval("return window.__problems || ['the watcher is missing'];")
            .await;
        serde_json::from_value(found).unwrap_or_default()
    }

    /// Saves a PNG of the window when `SCREENSHOT_DIR` is set (`cargo xtask screenshots`).
    pub async fn screenshot(&self, name: &str) {
        let Ok(dir) = std::env::var("SCREENSHOT_DIR") else {
            return;
        };
        let png = self.client.screenshot().await.expect("a screenshot");
        std::fs::create_dir_all(&dir).expect("the screenshot directory");
        std::fs::write(format!("{dir}/{name}.png"), png).expect("the screenshot is written");
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

/// chromedriver's pass-through to the DevTools protocol.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}
