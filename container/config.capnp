# workerd configuration of the self-hosted API (the container image and the end-to-end tests).
# Every setting comes from the process environment; nothing here is secret.
# Keep compatibilityDate in step with wrangler.toml.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "api", worker = .api),
    # Outbound traffic: PostgreSQL and MinIO on the private network, R2 and the OAuth providers on
    # the public one. Link-local addresses (cloud metadata services) are never reachable.
    (name = "internet", network = (
      allow = ["public", "private"],
      deny = ["169.254.0.0/16", "fe80::/10"],
      tlsOptions = (trustBrowserCas = true),
    )),
  ],
  # The address is replaced at start: launch.mjs passes one shared listening socket (--socket-fd).
  sockets = [ (name = "http", address = "*:8080", http = (), service = "api") ],
);

const api :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "worker.js") ],
  compatibilityDate = "2025-09-01",
  # nodejs_compat: native Buffer for the database driver (see wrangler.toml).
  compatibilityFlags = ["nodejs_compat"],
  globalOutbound = "internet",
  # One in-memory AppHost per process owns that process's database pool (see worker/index.ts).
  durableObjectNamespaces = [ (className = "AppHost", uniqueKey = "ignition-api-app-host") ],
  durableObjectStorage = (inMemory = void),
  bindings = [
    (name = "APP_HOST", durableObjectNamespace = "AppHost"),
    (name = "SERVER_ENVIRONMENT", fromEnvironment = "SERVER_ENVIRONMENT"),
    (name = "SERVER_PORT", fromEnvironment = "SERVER_PORT"),
    (name = "SERVER_PUBLIC_URL", fromEnvironment = "SERVER_PUBLIC_URL"),
    (name = "FRONTEND_URL", fromEnvironment = "FRONTEND_URL"),
    (name = "DATABASE_URL", fromEnvironment = "DATABASE_URL"),
    (name = "DATABASE_DRIVER", fromEnvironment = "DATABASE_DRIVER"),
    (name = "DATABASE_POOLING", fromEnvironment = "DATABASE_POOLING"),
    (name = "DATABASE_POOL_SIZE", fromEnvironment = "DATABASE_POOL_SIZE"),
    (name = "DATABASE_ACQUIRE_TIMEOUT_MS", fromEnvironment = "DATABASE_ACQUIRE_TIMEOUT_MS"),
    (name = "DATABASE_STATEMENT_TIMEOUT_MS", fromEnvironment = "DATABASE_STATEMENT_TIMEOUT_MS"),
    (name = "DATABASE_IDLE_TIMEOUT_MS", fromEnvironment = "DATABASE_IDLE_TIMEOUT_MS"),
    (name = "SESSION_SECRET", fromEnvironment = "SESSION_SECRET"),
    (name = "SESSION_SECRET_PREVIOUS", fromEnvironment = "SESSION_SECRET_PREVIOUS"),
    (name = "AUTH_COOKIE_DOMAIN", fromEnvironment = "AUTH_COOKIE_DOMAIN"),
    (name = "AUTH_DEV_BYPASS", fromEnvironment = "AUTH_DEV_BYPASS"),
    (name = "GOOGLE_CLIENT_ID", fromEnvironment = "GOOGLE_CLIENT_ID"),
    (name = "GOOGLE_CLIENT_SECRET", fromEnvironment = "GOOGLE_CLIENT_SECRET"),
    (name = "AZURE_CLIENT_ID", fromEnvironment = "AZURE_CLIENT_ID"),
    (name = "AZURE_CLIENT_SECRET", fromEnvironment = "AZURE_CLIENT_SECRET"),
    (name = "AZURE_TENANT_ID", fromEnvironment = "AZURE_TENANT_ID"),
    (name = "STORAGE_ENDPOINT", fromEnvironment = "STORAGE_ENDPOINT"),
    (name = "STORAGE_BUCKET", fromEnvironment = "STORAGE_BUCKET"),
    (name = "STORAGE_REGION", fromEnvironment = "STORAGE_REGION"),
    (name = "STORAGE_ACCESS_KEY_ID", fromEnvironment = "STORAGE_ACCESS_KEY_ID"),
    (name = "STORAGE_SECRET_ACCESS_KEY", fromEnvironment = "STORAGE_SECRET_ACCESS_KEY"),
    (name = "STORAGE_PUBLIC_ENDPOINT", fromEnvironment = "STORAGE_PUBLIC_ENDPOINT"),
    (name = "CORS_ALLOWED_ORIGINS", fromEnvironment = "CORS_ALLOWED_ORIGINS"),
    (name = "METRICS_ENABLED", fromEnvironment = "METRICS_ENABLED"),
    (name = "LOG_LEVEL", fromEnvironment = "LOG_LEVEL"),
    (name = "MAX_BODY_BYTES", fromEnvironment = "MAX_BODY_BYTES"),
    (name = "INSTANCE_NAME", fromEnvironment = "INSTANCE_NAME"),
    (name = "AUTH_SESSION_TTL_SECONDS", fromEnvironment = "AUTH_SESSION_TTL_SECONDS"),
    (name = "AUTH_SESSION_IDLE_SECONDS", fromEnvironment = "AUTH_SESSION_IDLE_SECONDS"),
    (name = "RATE_LIMIT_SIGNIN_PER_MINUTE", fromEnvironment = "RATE_LIMIT_SIGNIN_PER_MINUTE"),
    (name = "RATE_LIMIT_API_PER_MINUTE", fromEnvironment = "RATE_LIMIT_API_PER_MINUTE"),
    (name = "CLIENT_IP_HEADER", fromEnvironment = "CLIENT_IP_HEADER"),
    (name = "CLIENT_IP_PROXY_HOPS", fromEnvironment = "CLIENT_IP_PROXY_HOPS"),
    (name = "GOOGLE_ISSUER_URL", fromEnvironment = "GOOGLE_ISSUER_URL"),
    (name = "AZURE_AUTHORITY_URL", fromEnvironment = "AZURE_AUTHORITY_URL"),
  ],
);
