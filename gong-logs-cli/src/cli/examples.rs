//! The examples shown at the end of each command's `--help`.

pub(super) const MAIN_EXAMPLES: &str = "\
Examples:
  # First: check the settings, the connection and the credentials:
  gong-logs doctor

  # Yesterday's sign-ins and page views, one JSON object per line:
  gong-logs fetch --type AccessLog --from yesterday --to today > access.jsonl

  # Everything of the last 7 days into a CSV file, resumable after a crash:
  gong-logs fetch --type all --since 7d -o audit.csv --resume

  # Keep shipping new entries to a SIEM every minute:
  gong-logs fetch --type UserActivityLog --since 1h --follow | siem-forwarder

  # What the log types are and how long Gong keeps them:
  gong-logs types

Credentials: GONG_ACCESS_KEY + GONG_ACCESS_KEY_SECRET, or GONG_BEARER_TOKEN, or a
profile of the config file (see `gong-logs config path`). Base URL: GONG_BASE_URL.

Exit codes: 0 success (an empty period too), 1 API or unexpected failure, 2 usage
error (nothing sent), 3 authentication failure or no credentials, 5 still rate-limited
after retries, 130 interrupted.";

pub(super) const FETCH_EXAMPLES: &str = "\
Examples:
  # One type, one day, as JSON lines (the default when stdout is not a terminal):
  gong-logs fetch -t AccessLog --from 2024-03-01 --to 2024-03-02 > access.jsonl

  # Several types (in this order), last 36 hours, as CSV with chosen columns:
  gong-logs fetch -t UserCallPlay,ExternallySharedCallPlay --since 1d12h \\
      --format csv --fields eventTime,userEmailAddress,logRecord.call_id

  # One user's activity this week, first 50 entries, as a table:
  gong-logs fetch -t UserActivityLog --since 7d --user jane@example.com --limit 50 -f table

  # A large export into a file; after a crash or Ctrl-C, the same command continues:
  gong-logs fetch -t all --from 2023-01-01 -o audit.jsonl --resume

  # Follow new entries, polling every 5 minutes; Ctrl-C stops cleanly:
  gong-logs fetch -t AccessLog --since 10m --follow --interval 5m

  # Show the requests that would be sent, without sending them:
  gong-logs fetch -t all --since 1d --dry-run

TIME: 2024-03-01T10:00:00Z, 2024-03-01T12:00:00+02:00 (fractional seconds ok),
2024-03-01 (midnight UTC), now, today, yesterday (midnight UTC), or a span ago:
30s, 90m, 24h, 7d, 2w, 1d12h. Ranges are half-open: [--from, --to).";

pub(super) const TYPES_EXAMPLES: &str = "\
Examples:
  gong-logs types
  gong-logs types --format json | jq -r '.[].name'";

pub(super) const SCHEMA_EXAMPLES: &str = "\
JSON Schema draft-07, generated from gong-logs' own types; the same files are in
docs/schemas/ of the source repository.

Examples:
  # One JSONL line of fetch --type AccessLog (logRecord typed):
  gong-logs schema --type AccessLog > access-line.schema.json

  # A line of any type (oneOf the five, told apart by logType):
  gong-logs schema

  # The --resume checkpoint file, and the output of `types --format json`:
  gong-logs schema --what checkpoint
  gong-logs schema --what types";

pub(super) const COMPLETIONS_EXAMPLES: &str = "\
The script asks gong-logs itself (found on PATH) what to complete: options,
log types, formats, and the profile names of the config file.

Examples:
  gong-logs completions bash > ~/.local/share/bash-completion/completions/gong-logs
  gong-logs completions zsh > ~/.zfunc/_gong-logs      # with fpath+=(~/.zfunc) before compinit
  gong-logs completions fish > ~/.config/fish/completions/gong-logs.fish";

pub(super) const DOCTOR_EXAMPLES: &str = "\
Shows the base URL, profile and credentials as `fetch` would use them and where
each came from (secrets masked), checks the base URL, sends ONE request (one
second of AccessLog) and reports: reachable, TLS, credentials accepted, scope
(api:logs:read), rate-limit headers, clock skew against the server's Date.
Exit codes as fetch: 0 ok, 1 unreachable or Gong failing, 2 bad settings,
3 credentials refused or missing, 5 rate-limited.

Examples:
  gong-logs doctor
  gong-logs doctor --profile oauth
  GONG_BASE_URL=https://company-17.api.gong.io gong-logs auth check";

pub(super) const MAN_EXAMPLES: &str = "\
The pages are rendered from the same definitions as --help, with the examples
and the exit codes; a release archive and the Debian package carry them as
files (gong-logs.1, gong-logs-fetch.1, ...).

Examples:
  gong-logs man | man -l -
  gong-logs man fetch | man -l -
  gong-logs man config path > gong-logs-config-path.1";

pub(super) const CONFIG_EXAMPLES: &str = "\
Config file (TOML), one table per profile; keys base_url, access_key,
access_key_secret, bearer_token. It must not be readable by others (chmod 600).

  [default]
  base_url = \"https://company-17.api.gong.io\"
  access_key = \"...\"
  access_key_secret = \"...\"

  [oauth]
  bearer_token = \"...\"

Path: $GONG_LOGS_CONFIG, else $XDG_CONFIG_HOME/gong-logs/config.toml, else
~/.config/gong-logs/config.toml. Profile: --profile, else $GONG_PROFILE, else
default. Flags win over environment variables, which win over the profile.

Examples:
  gong-logs config path
  chmod 600 \"$(gong-logs config path)\"";
