use std::future::Future;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::App;
use anyhow::Context;
use secrecy::ExposeSecret;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use trachios_auth::{Argon2Hasher, HashLimits, JwtTokenService};
use trachios_domain::ports::{
    ChangeWitness, Clock, OrderCache, OrderRenderer, SecretSealer, SystemClock, TokenService,
};
use trachios_domain::services::{
    AccountService, CacheBackend, CatalogService, DeliveryService, LifecycleService, NoCache,
    OrderExportService, OrderService, ReadinessService, SessionService, TrackingService,
    UserAdminService, WatchTiming, WebhookService,
};
use trachios_http::limits::{
    BodyTimeout, ExportSlots, RateLimits, RatesPerMinute, StreamSlots, TrustedProxies,
};
use trachios_http::middleware::{catch_panics, json_error_fallback, request_id};
use trachios_http::SecurityEvents;
use trachios_http::{record_request_metrics, ApiState, CursorKey, MetricsEndpoint, OrderJson};
use trachios_memory::{
    CachedAccountStates, CachedTokenVerifier, ChangeHub, InProcessOrderCache, ORDER_CACHE_CAPACITY,
};
use trachios_postgres::ChangeFollower;
use trachios_redis::{CacheSettings, RedisOrderCache};
use trachios_webhooks::{HttpTransport, TransportSettings};

use crate::config::CacheChoice;
use crate::store::{self, Backend, Store};
use crate::{deliveries, housekeeping, lifecycle, metrics, seed, Settings};

/// How long a process trusts what it last read about an account (role, disabled, logged-out
/// token): a change made through any process takes effect everywhere within this time,
/// well inside the contract's 5 s, and a hot token costs one lookup per interval.
const ACCOUNT_STATE_TTL: Duration = Duration::from_secs(2);
/// Tokens whose account state one process remembers at most (about 100 bytes each).
const ACCOUNT_STATE_CAPACITY: u64 = 100_000;
/// How long a verified token's signature and claims are trusted without checking them again
/// (its expiry is checked on every use, and so is its account's state).
const VERIFIED_TOKEN_TTL: Duration = Duration::from_secs(300);
/// Verified tokens one process remembers at most (about 400 bytes each).
const VERIFIED_TOKEN_CAPACITY: u64 = 20_000;

// A lifecycle batch must reach a subscriber of every order whole, not cut it off.
const _: () = assert!(
    trachios_postgres::MAX_ORDERS_PER_PUBLISH <= trachios_memory::SUBSCRIBER_BACKLOG,
    "the change hub's per-subscriber queue must hold the follower's largest publish"
);

/// How long a process trusts the shared cache after it last read the change feed to its end
/// (every 100 ms normally), and so how long a write that could not update Redis waits
/// before it is acknowledged: by then every process has raised the order's floor or stopped
/// trusting the cache.
const CACHE_FEED_LEASE: Duration = Duration::from_secs(1);

/// How much longer than an attempt's timeout a claimed delivery stays reserved for it:
/// time to record the outcome. Past it, another worker may make the next attempt.
const DELIVERY_LEASE_MARGIN: Duration = Duration::from_secs(5);

/// A built, listening service: the HTTP server, the lifecycle worker, the change follower,
/// the webhook delivery workers and the housekeeping.
pub struct Application {
    port: u16,
    server: Server,
    backend: Backend,
    lifecycle: LifecycleService,
    deliveries: DeliveryService,
    follower: Option<ChangeFollower>,
    feed: ChangeHub,
    readiness: ReadinessService,
    chores: housekeeping::Chores,
    settings: Settings,
}

impl Application {
    /// Migrates (when configured), seeds the admin (when configured), wires the adapters
    /// and binds the listener. Nothing runs until `run_until`.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let feed = ChangeHub::new();
        let store = store::open(&settings, &feed).await?;
        let Store {
            users,
            orders,
            account_states,
            webhooks,
            products,
            probe,
            backend,
            follower,
        } = store;

        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        // One rendering for the caches and the reads that miss them: a hit and a miss must
        // answer the same bytes.
        let renderer: Arc<dyn OrderRenderer> = Arc::new(OrderJson);
        let (cache, cache_backend, witness) =
            order_cache(&settings, &backend, renderer.clone(), follower.is_some()).await?;
        // The follower reads every process's changes: a shared cache learns of them there.
        let follower = match witness {
            Some(witness) => follower.map(|follower| follower.witnessed_by(witness)),
            None => follower,
        };
        let tokens: Arc<dyn TokenService> = Arc::new(CachedTokenVerifier::new(
            Arc::new(
                JwtTokenService::new(settings.auth.jwt_secret.expose_secret().as_bytes())
                    .context("JWT_SECRET")?,
            ),
            VERIFIED_TOKEN_TTL,
            VERIFIED_TOKEN_CAPACITY,
        ));
        let step = chrono::Duration::from_std(settings.order_step())
            .context("ORDER_STEP_SECONDS is too large")?;
        let account_states = Arc::new(CachedAccountStates::new(
            account_states,
            ACCOUNT_STATE_TTL,
            ACCOUNT_STATE_CAPACITY,
        ));
        let sessions = SessionService::new(tokens.clone(), account_states, clock.clone());
        let tracking = TrackingService::new(
            orders.clone(),
            Arc::new(feed.clone()),
            sessions.clone(),
            clock.clone(),
            WatchTiming {
                keep_alive: settings.stream_keep_alive(),
                recheck: ACCOUNT_STATE_TTL,
            },
        );
        let user_admin = UserAdminService::new(users.clone(), clock.clone());
        let exports = OrderExportService::new(orders.clone(), users.clone());
        let accounts = AccountService::new(
            users,
            Arc::new(
                Argon2Hasher::new(hash_limits(&settings)).context("setting up password hashing")?,
            ),
            tokens.clone(),
            clock.clone(),
            settings.password_policy()?,
        );
        let transport = Arc::new(
            HttpTransport::new(
                TransportSettings {
                    timeout: settings.webhook_timeout(),
                    allow_private: settings.webhooks.allow_private,
                },
                renderer.clone(),
            )
            .context("setting up webhook delivery")?,
        );
        let sealer: Arc<dyn SecretSealer> = Arc::new(settings.secret_box());
        let webhook_admin = WebhookService::new(
            webhooks.clone(),
            transport.clone(),
            sealer.clone(),
            clock.clone(),
        );
        let deliveries = DeliveryService::new(
            webhooks,
            transport,
            sealer,
            clock.clone(),
            settings.webhook_retries(),
            settings.webhook_timeout() + DELIVERY_LEASE_MARGIN,
            settings.webhooks.batch_size,
        );
        let order_service =
            OrderService::new(orders.clone(), cache.clone(), renderer, clock.clone(), step)
                .with_open_orders_limit(Some(settings.limits.open_orders_per_user))
                .with_free_text_orders(settings.catalog.free_text_orders);
        let lifecycle = LifecycleService::new(
            orders,
            cache,
            clock.clone(),
            step,
            settings.lifecycle.batch_size,
        );
        let catalog = CatalogService::new(products, clock, settings.currency()?);

        if let (Some(email), Some(password)) =
            (&settings.auth.admin_email, &settings.auth.admin_password)
        {
            seed::seed_admin(&accounts, email, password.expose_secret())
                .await
                .context("seeding the admin account")?;
        }

        let rate_limits = Arc::new(RateLimits::new(RatesPerMinute {
            login: settings.limits.login_rate_per_minute,
            auth: settings.limits.auth_rate_per_minute,
            orders: settings.limits.order_rate_per_minute,
            login_failures_per_hour: settings.limits.login_failures_per_account_per_hour,
        }));
        let chores = housekeeping::Chores {
            rate_limits: rate_limits.clone(),
            orders: order_service.clone(),
            deliveries: deliveries.clone(),
            webhooks: webhook_admin.clone(),
            webhook_retention: settings.webhook_retention(),
        };
        let readiness = ReadinessService::new(probe, cache_backend);
        let metrics = MetricsEndpoint::new(
            metrics::renderer(backend.clone()),
            settings
                .server
                .metrics_token
                .as_ref()
                .map(|token| token.expose_secret()),
        );
        let state = ApiState {
            accounts,
            sessions,
            user_admin,
            orders: order_service,
            exports,
            tracking,
            webhooks: webhook_admin,
            catalog,
            stream_slots: Arc::new(StreamSlots::new(limit(settings.limits.streams_per_user))),
            export_slots: ExportSlots::new(
                limit(settings.limits.exports_at_once),
                Some(settings.limits.export_rows_per_second).filter(|r| *r > 0),
            ),
            cursors: CursorKey::derive(settings.auth.jwt_secret.expose_secret().as_bytes()),
            security_events: SecurityEvents::derive(
                settings.auth.jwt_secret.expose_secret().as_bytes(),
            ),
            rate_limits: rate_limits.clone(),
            trusted_proxies: TrustedProxies::new(settings.trusted_proxies()?),
            body_timeout: BodyTimeout(settings.request_body_timeout()),
            readiness: readiness.clone(),
            metrics,
        };
        let (host, port) = (settings.server.host.as_str(), settings.server.port);
        let listener =
            TcpListener::bind((host, port)).with_context(|| format!("binding {host}:{port}"))?;
        let port = listener.local_addr()?.port();
        let server = actix_web::HttpServer::new(move || {
            App::new()
                .wrap(json_error_fallback())
                .wrap(from_fn(catch_panics))
                .wrap(from_fn(request_id))
                .wrap(from_fn(record_request_metrics))
                .configure(trachios_http::configure(state.clone()))
        })
        .listen(listener)?
        .disable_signals()
        .shutdown_timeout(settings.server.shutdown_timeout_seconds)
        .run();
        Ok(Self {
            port,
            server,
            backend,
            lifecycle,
            deliveries,
            follower,
            feed,
            readiness,
            chores,
            settings,
        })
    }

    /// The port the server listens on (useful with `SERVER_PORT=0`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until `shutdown` completes, then ends the event streams, stops accepting,
    /// lets in-flight requests and the current lifecycle batch finish, and closes the pool.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let Application {
            port,
            server,
            backend,
            lifecycle,
            deliveries,
            follower,
            feed,
            readiness,
            chores,
            settings,
        } = self;
        let housekeeping = tokio::spawn(housekeeping::run(chores));
        let metrics_upkeep = tokio::spawn(metrics::upkeep());
        let handle: ServerHandle = server.handle();
        let (stop_workers, workers_stop) = watch::channel(false);
        let interval = lifecycle::poll_interval(settings.order_step());
        let worker: JoinHandle<()> =
            tokio::spawn(lifecycle::run(lifecycle, interval, workers_stop.clone()));
        let delivering: Vec<JoinHandle<()>> = (0..deliveries::WORKERS)
            .map(|_| tokio::spawn(deliveries::run(deliveries.clone(), workers_stop.clone())))
            .collect();
        let following: Option<JoinHandle<()>> =
            follower.map(|follower| tokio::spawn(follower.run(workers_stop)));
        let server_task = tokio::spawn(server);
        tracing::info!(port, profile = %settings.app.profile, step_seconds = settings.lifecycle.order_step_seconds, "trachios listening");

        shutdown.await;
        let drain = settings.shutdown_drain();
        if !drain.is_zero() {
            tracing::info!(
                seconds = drain.as_secs_f64(),
                "draining: /ready answers 503 while requests are still served"
            );
        }
        readiness.start_draining();
        tokio::time::sleep(drain).await;
        tracing::info!(
            streams = feed.subscribers(),
            "shutting down: ending streams, draining requests"
        );
        // Streams never end on their own; a graceful stop would otherwise wait them out.
        feed.close();
        handle.stop(true).await;
        // The workers may have ended on their own already; then there is nobody to tell.
        if stop_workers.send(true).is_err() {
            tracing::debug!("background workers had already stopped");
        }
        if let Err(err) = worker.await {
            tracing::error!(error = %err, "lifecycle worker panicked");
        }
        for delivering in delivering {
            if let Err(err) = delivering.await {
                tracing::error!(error = %err, "webhook delivery worker panicked");
            }
        }
        if let Some(following) = following {
            if let Err(err) = following.await {
                tracing::error!(error = %err, "change follower panicked");
            }
        }
        match server_task.await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::error!(error = %err, "HTTP server failed"),
            Err(err) => tracing::error!(error = %err, "HTTP server task panicked"),
        }
        housekeeping.abort();
        metrics_upkeep.abort();
        backend.close();
        tracing::info!("shutdown complete");
        Ok(())
    }
}

/// `HASH_CONCURRENCY` and `HASH_QUEUE`, `0` being no limit.
fn hash_limits(settings: &Settings) -> HashLimits {
    HashLimits {
        concurrency: limit(settings.limits.hash_concurrency),
        queue: limit(settings.limits.hash_queue),
    }
}

/// A count limit from the configuration, where `0` means none.
fn limit(n: usize) -> Option<usize> {
    (n > 0).then_some(n)
}

/// The cache the configuration picks, keeping orders as `renderer` renders them, what
/// readiness reports about it, and, for a cache other processes share (`shared`: the
/// database has a change feed), what the feed must tell of every change.
async fn order_cache(
    settings: &Settings,
    backend: &Backend,
    renderer: Arc<dyn OrderRenderer>,
    shared: bool,
) -> anyhow::Result<(
    Arc<dyn OrderCache>,
    CacheBackend,
    Option<Arc<dyn ChangeWitness>>,
)> {
    let ttl = Duration::from_secs(settings.cache.ttl_seconds);
    match settings.cache_choice(&settings.store()?) {
        CacheChoice::Disabled => {
            tracing::info!("order cache disabled");
            Ok((Arc::new(NoCache), CacheBackend::Disabled, None))
        }
        CacheChoice::InProcess => {
            tracing::info!("order cache in process memory");
            let cache = InProcessOrderCache::new(ttl, ORDER_CACHE_CAPACITY, renderer);
            Ok((Arc::new(cache), CacheBackend::InProcess, None))
        }
        CacheChoice::Redis => {
            let cache = RedisOrderCache::new(
                settings.redis_url()?.expose_secret(),
                CacheSettings {
                    ttl,
                    timeout: Duration::from_millis(settings.cache.timeout_ms),
                    key_prefix: settings.cache.key_prefix.clone(),
                    epoch: backend
                        .cache_epoch()
                        .await
                        .context("reading the cache epoch (are the migrations applied?)")?,
                    feed_lease: shared.then_some(CACHE_FEED_LEASE),
                    ..CacheSettings::default()
                },
                renderer,
            )
            .context("setting up the Redis cache")?;
            let cache = Arc::new(cache);
            let witness: Option<Arc<dyn ChangeWitness>> = shared.then(|| cache.clone() as _);
            Ok((cache.clone(), CacheBackend::Remote(cache), witness))
        }
    }
}

/// Completes on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!(signal = "SIGINT", "signal received"),
        _ = term => tracing::info!(signal = "SIGTERM", "signal received"),
    }
}
