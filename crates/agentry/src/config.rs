//! One declaration for flags, environment variables and the config file (ripgrep style).
//!
//! Options are declared once, with clap (`#[arg(long, env = "AGENTRY_…")]`). The TOML config
//! file adds nothing of its own: before parsing, each of its keys becomes the *default value* of
//! the clap argument with the same long name. So precedence is flag > environment > file >
//! built-in default, `--help` shows the values the file set, and a key naming no option is an
//! error (a typo must not be silently ignored).
//!
//! File layout: top-level keys apply to the option of that name wherever it is declared (the
//! root's global options, or every command that has it, e.g. `registry`); a table applies to one
//! command (`[serve]`, or `[model.download]` for a nested one).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::Command;

/// Environment variable naming the config file.
pub const CONFIG_ENV: &str = "AGENTRY_CONFIG";

/// Why the configuration could not be applied. Reported with exit code 2.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// `~/.config/agentry` (or `$XDG_CONFIG_HOME/agentry`): where the config file and the
/// credentials of `agentry login` live.
pub fn config_dir() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
        return Some(PathBuf::from(x).join("agentry"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".config").join("agentry"))
}

/// Find the config file named by `--config` (scanned from the raw arguments, since the file
/// must be read before clap parses), else by `AGENTRY_CONFIG`, else the default path. Returns
/// the path and whether it was asked for explicitly (a missing explicit file is an error, a
/// missing default file is not).
pub fn locate(args: &[OsString]) -> Option<(PathBuf, bool)> {
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        let Some(s) = a.to_str() else { continue };
        if s == "--" {
            break;
        }
        if s == "--config" {
            return it.next().map(|p| (PathBuf::from(p), true));
        }
        if let Some(p) = s.strip_prefix("--config=") {
            return Some((PathBuf::from(p), true));
        }
    }
    if let Some(p) = std::env::var_os(CONFIG_ENV).filter(|p| !p.is_empty()) {
        return Some((PathBuf::from(p), true));
    }
    config_dir().map(|d| (d.join("config.toml"), false))
}

/// Read the config file (if any) and install its values as defaults on `cmd`.
pub fn apply_file(cmd: Command, args: &[OsString]) -> Result<Command, ConfigError> {
    let Some((path, explicit)) = locate(args) else {
        return Ok(cmd);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => return Ok(cmd),
        Err(e) => {
            return Err(ConfigError(format!(
                "cannot read config file {}: {e}",
                path.display()
            )));
        }
    };
    apply_str(cmd, &text, &path)
}

/// Keys holding arrays of tables, which no clap option takes: the command reads them with
/// [`structured`].
const STRUCTURED: &[&str] = &["serve.switchboard"];

/// The value at `section.key` of the config file this invocation uses (`None` when there is
/// no file or no such key).
pub fn structured(section: &str, key: &str) -> Result<Option<toml::Value>, ConfigError> {
    let args: Vec<OsString> = std::env::args_os().collect();
    let Some((path, explicit)) = locate(&args) else {
        return Ok(None);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => return Ok(None),
        Err(e) => {
            return Err(ConfigError(format!(
                "cannot read config file {}: {e}",
                path.display()
            )));
        }
    };
    let table: toml::Table = text
        .parse()
        .map_err(|e| ConfigError(format!("config file {}: {e}", path.display())))?;
    Ok(table.get(section).and_then(|s| s.get(key)).cloned())
}

/// Install the values of a TOML document as defaults on `cmd` (see the module docs).
pub fn apply_str(cmd: Command, text: &str, path: &Path) -> Result<Command, ConfigError> {
    let table: toml::Table = text
        .parse()
        .map_err(|e| ConfigError(format!("config file {}: {e}", path.display())))?;
    apply_table(cmd, &table, path, "")
}

fn apply_table(
    mut cmd: Command,
    table: &toml::Table,
    path: &Path,
    section: &str,
) -> Result<Command, ConfigError> {
    for (key, value) in table {
        let where_ = if section.is_empty() {
            key.clone()
        } else {
            format!("{section}.{key}")
        };
        // Structured settings no flag can carry, read by their command itself
        // ([`structured`]): `[[serve.switchboard]]`.
        if STRUCTURED.contains(&where_.as_str()) {
            continue;
        }
        if let toml::Value::Table(sub) = value {
            if cmd.find_subcommand(key).is_none() {
                return Err(ConfigError(format!(
                    "config file {}: [{where_}] names no agentry command",
                    path.display()
                )));
            }
            let mut err = None;
            cmd = cmd.mut_subcommand(key, |s| match apply_table(s.clone(), sub, path, &where_) {
                Ok(s) => s,
                Err(e) => {
                    err = Some(e);
                    s
                }
            });
            if let Some(e) = err {
                return Err(e);
            }
            continue;
        }
        let values = scalar_values(value).ok_or_else(|| {
            ConfigError(format!(
                "config file {}: `{where_}` must be a string, number, boolean or array of those",
                path.display()
            ))
        })?;
        let mut found = false;
        cmd = set_default(cmd, key, &values, section.is_empty(), &mut found);
        if !found {
            return Err(ConfigError(format!(
                "config file {}: `{where_}` is not an option of {}",
                path.display(),
                if section.is_empty() {
                    "agentry or any of its commands".to_owned()
                } else {
                    format!("`agentry {}`", section.replace('.', " "))
                }
            )));
        }
    }
    Ok(cmd)
}

fn scalar_values(v: &toml::Value) -> Option<Vec<String>> {
    match v {
        toml::Value::String(s) => Some(vec![s.clone()]),
        toml::Value::Integer(i) => Some(vec![i.to_string()]),
        toml::Value::Float(f) => Some(vec![f.to_string()]),
        toml::Value::Boolean(b) => Some(vec![b.to_string()]),
        toml::Value::Array(a) => a
            .iter()
            .map(|x| match x {
                toml::Value::Table(_) | toml::Value::Array(_) => None,
                other => scalar_values(other).and_then(|v| v.into_iter().next()),
            })
            .collect(),
        _ => None,
    }
}

/// Set the default of the argument whose long name is `long` on `cmd` and, when `recurse`,
/// on every subcommand declaring it too.
fn set_default(
    mut cmd: Command,
    long: &str,
    values: &[String],
    recurse: bool,
    found: &mut bool,
) -> Command {
    let id = cmd
        .get_arguments()
        .find(|a| a.get_long() == Some(long) && !a.is_positional())
        .map(|a| a.get_id().clone());
    if let Some(id) = id {
        *found = true;
        let vals: Vec<clap::builder::OsStr> = values
            .iter()
            .map(|v| clap::builder::OsStr::from(v.clone()))
            .collect();
        cmd = cmd.mut_arg(id, |a| a.default_values(vals));
    }
    if recurse {
        let names: Vec<String> = cmd
            .get_subcommands()
            .map(|s| s.get_name().to_owned())
            .collect();
        for name in names {
            let mut f = false;
            cmd = cmd.mut_subcommand(&name, |s| set_default(s, long, values, true, &mut f));
            *found |= f;
        }
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, ArgAction};

    fn cmd() -> Command {
        Command::new("t")
            .arg(
                Arg::new("json")
                    .long("json")
                    .action(ArgAction::SetTrue)
                    .global(true),
            )
            .arg(
                Arg::new("verbose")
                    .short('v')
                    .long("verbose")
                    .action(ArgAction::Count)
                    .global(true),
            )
            .subcommand(
                Command::new("serve")
                    .arg(Arg::new("listen").long("listen").default_value("a:1"))
                    .arg(Arg::new("registry").long("registry")),
            )
            .subcommand(Command::new("push").arg(Arg::new("registry").long("registry")))
    }

    fn parse(toml: &str, argv: &[&str]) -> Result<clap::ArgMatches, String> {
        let c = apply_str(cmd(), toml, Path::new("c.toml")).map_err(|e| e.0)?;
        c.try_get_matches_from(argv).map_err(|e| e.to_string())
    }

    #[test]
    fn file_values_are_defaults_below_flags() {
        let toml = "json = true\nverbose = 2\nregistry = \"r:1\"\n[serve]\nlisten = \"b:2\"\n";
        let m = parse(toml, &["t", "serve"]).unwrap_or_else(|e| panic!("{e}"));
        assert!(m.get_flag("json"));
        assert_eq!(m.get_count("verbose"), 2);
        let (_, s) = m.subcommand().unwrap_or_else(|| panic!("no subcommand"));
        assert_eq!(
            s.get_one::<String>("listen").map(String::as_str),
            Some("b:2")
        );
        assert_eq!(
            s.get_one::<String>("registry").map(String::as_str),
            Some("r:1")
        );
        let m = parse(toml, &["t", "serve", "--listen", "c:3"]).unwrap_or_else(|e| panic!("{e}"));
        let (_, s) = m.subcommand().unwrap_or_else(|| panic!("no subcommand"));
        assert_eq!(
            s.get_one::<String>("listen").map(String::as_str),
            Some("c:3")
        );
    }

    #[test]
    fn switchboard_tables_are_left_to_serve() {
        let toml = "[serve]\nlisten = \"b:2\"\n[[serve.switchboard]]\nprefix = \"mcp\"\n\
                    kind = \"mcp\"\nurl = \"http://r.example\"\n";
        let m = parse(toml, &["t", "serve"]).unwrap_or_else(|e| panic!("{e}"));
        let (_, s) = m.subcommand().unwrap_or_else(|| panic!("no subcommand"));
        assert_eq!(
            s.get_one::<String>("listen").map(String::as_str),
            Some("b:2")
        );
        // Anywhere else an array of tables is still refused.
        assert!(parse("[[push.switchboard]]\nx = 1\n", &["t"]).is_err());
    }

    #[test]
    fn unknown_keys_and_sections_are_errors_naming_them() {
        let e = parse("colour = 1", &["t"]).err().unwrap_or_default();
        assert!(e.contains("`colour`"), "{e}");
        let e = parse("[serve]\nregistr = \"x\"", &["t"])
            .err()
            .unwrap_or_default();
        assert!(e.contains("serve.registr"), "{e}");
        let e = parse("[nope]\na = 1", &["t"]).err().unwrap_or_default();
        assert!(e.contains("[nope]"), "{e}");
        let e = parse("json = [", &["t"]).err().unwrap_or_default();
        assert!(e.contains("c.toml"), "{e}");
    }

    #[test]
    fn config_flag_is_found_before_parsing() {
        let a: Vec<OsString> = ["agentry", "push", "--config", "x.toml"]
            .iter()
            .map(OsString::from)
            .collect();
        assert_eq!(locate(&a), Some((PathBuf::from("x.toml"), true)));
        let a: Vec<OsString> = ["agentry", "--config=y.toml"]
            .iter()
            .map(OsString::from)
            .collect();
        assert_eq!(locate(&a), Some((PathBuf::from("y.toml"), true)));
    }
}
