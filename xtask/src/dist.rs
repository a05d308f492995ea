//! `cargo xtask dist`: the release archive
//! `target/dist/gong-logs-VERSION-TARGET.tar.gz` (binary, man pages,
//! completions for bash/zsh/fish, `contrib/`, README, licence texts), its
//! contents checked against the expected list once written, and the Debian
//! package (cargo-deb, `[package.metadata.deb]` of `gong-logs-cli`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail, ensure};

use crate::demo::{build_binary, cargo, target_dir, workspace_root};

/// `cargo xtask dist`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The cargo profile of the binary: `release` (what ships) or `dev`
    /// (minutes faster: CI's check of the archive's contents).
    #[arg(long, value_parser = ["release", "dev"], default_value = "release")]
    pub profile: String,

    /// Build the Debian package as well, and fail if cargo-deb is not
    /// installed (default: build it when cargo-deb is installed and the
    /// profile is release, else say why not).
    #[arg(long, conflicts_with = "no_deb")]
    pub deb: bool,

    /// Do not build the Debian package.
    #[arg(long)]
    pub no_deb: bool,
}

/// The shells whose completion script ships, and the script's file name.
pub const COMPLETIONS: [(&str, &str); 3] = [
    ("bash", "gong-logs.bash"),
    ("zsh", "_gong-logs"),
    ("fish", "gong-logs.fish"),
];

/// Files of the workspace root in the archive, as they are.
const ROOT_FILES: [&str; 3] = ["README.md", "LICENSE-MIT", "LICENSE-APACHE"];

/// One file of the archive: where it goes (under the top directory), where
/// it comes from, its mode.
#[derive(Debug)]
struct Entry {
    name: String,
    source: PathBuf,
    mode: u32,
}

/// Runs `cargo xtask dist`.
pub fn run(args: &Args) -> Result<()> {
    let root = workspace_root();
    let release = args.profile == "release";
    let deb = deb_wanted(args, release)?;
    let bin = build_binary("gong-logs-cli", "gong-logs", release)?;
    let target = target_dir(&root);
    let dist = target.join("dist");
    // Where the .deb's metadata finds them (whatever the profile: the
    // files do not depend on it).
    let files = target.join("release").join("dist-files");
    generate(&bin, &files)?;
    let name = format!("gong-logs-{}-{}", env!("CARGO_PKG_VERSION"), host_triple()?);
    let archive = dist.join(format!("{name}.tar.gz"));
    // A fresh clone has no target/dist yet.
    fs::create_dir_all(&dist).with_context(|| format!("creating {}", dist.display()))?;
    let entries = entries(&root, &bin, &files)?;
    write_archive(&archive, &name, &entries, mtime(&root))?;
    let listed = list_archive(&archive)?;
    let expected = expected(&root, &name)?;
    check_listing(&listed, &expected)?;
    eprintln!("{}: {} files, as expected", archive.display(), listed.len());
    if deb {
        build_deb(&root, &dist)?;
    }
    Ok(())
}

/// Whether to build the .deb; says why not when it is skipped.
fn deb_wanted(args: &Args, release: bool) -> Result<bool> {
    if args.no_deb {
        return Ok(false);
    }
    let installed = Command::new(cargo())
        .args(["deb", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    match (args.deb, installed, release) {
        (true, false, _) => bail!(
            "--deb: cargo-deb is not installed: run `cargo install cargo-deb --locked` (or drop --deb)"
        ),
        (true, true, false) => bail!("--deb: the Debian package is built from --profile release"),
        (_, true, true) => Ok(true),
        (false, false, _) => {
            eprintln!(
                "note: no .deb: cargo-deb is not installed (`cargo install cargo-deb --locked`, then --deb)"
            );
            Ok(false)
        }
        (false, true, false) => {
            eprintln!("note: no .deb: it is built from --profile release only");
            Ok(false)
        }
    }
}

/// The host's target triple (`rustc -vV`).
fn host_triple() -> Result<String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc)
        .arg("-vV")
        .output()
        .context("cannot run rustc -vV")?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .context("rustc -vV names no host")
}

/// Writes the generated files to `files`: `man/*.1` (from the parser's
/// definitions, as `gong-logs man` prints them) and `completions/*` (what
/// the built binary's `completions SHELL` prints). The .deb takes them
/// from there as well.
fn generate(bin: &Path, files: &Path) -> Result<()> {
    let man = files.join("man");
    let completions = files.join("completions");
    for dir in [&man, &completions] {
        if dir.exists() {
            fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
        }
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    for page in gong_logs_cli::man::pages() {
        let path = man.join(page.file_name());
        fs::write(&path, &page.roff).with_context(|| format!("writing {}", path.display()))?;
    }
    for (shell, file) in COMPLETIONS {
        let out = Command::new(bin)
            .args(["completions", shell])
            .output()
            .with_context(|| format!("running {} completions {shell}", bin.display()))?;
        ensure!(
            out.status.success() && !out.stdout.is_empty(),
            "gong-logs completions {shell} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = completions.join(file);
        fs::write(&path, &out.stdout).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Every file of the archive, in order.
fn entries(root: &Path, bin: &Path, files: &Path) -> Result<Vec<Entry>> {
    let file = |name: String, source: PathBuf| Entry {
        name,
        source,
        mode: 0o644,
    };
    let mut out = vec![Entry {
        name: "gong-logs".into(),
        source: bin.to_path_buf(),
        mode: 0o755,
    }];
    out.extend(
        ROOT_FILES
            .iter()
            .map(|f| file((*f).to_owned(), root.join(f))),
    );
    for dir in ["man", "completions"] {
        for path in sorted_files(&files.join(dir))? {
            let base = path.file_name().expect("a file").to_string_lossy();
            out.push(file(format!("{dir}/{base}"), path.clone()));
        }
    }
    for path in sorted_files(&root.join("contrib"))? {
        let rel = path.strip_prefix(root).expect("under the root");
        out.push(file(rel.to_string_lossy().into_owned(), path.clone()));
    }
    Ok(out)
}

/// The regular files under `dir`, recursively, sorted.
fn sorted_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let path = e?.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The files' time in the archive: `SOURCE_DATE_EPOCH`, else the last
/// commit's (the same sources give the same archive).
fn mtime(root: &Path) -> u64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .or_else(|| {
            let out = Command::new("git")
                .current_dir(root)
                .args(["log", "-1", "--format=%ct"])
                .output()
                .ok()?;
            Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        })
        .and_then(|t| t.parse().ok())
        .unwrap_or(0)
}

fn write_archive(archive: &Path, top: &str, entries: &[Entry], mtime: u64) -> Result<()> {
    let tmp = archive.with_extension("gz.tmp");
    let file = fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::best());
    let mut tar = tar::Builder::new(gz);
    for entry in entries {
        let data = fs::read(&entry.source)
            .with_context(|| format!("reading {}", entry.source.display()))?;
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(entry.mode);
        header.set_mtime(mtime);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(
            &mut header,
            format!("{top}/{}", entry.name),
            data.as_slice(),
        )
        .with_context(|| format!("adding {}", entry.name))?;
    }
    let gz = tar.into_inner().context("finishing the tar")?;
    gz.finish()
        .and_then(|f| f.sync_all())
        .context("finishing the gzip")?;
    fs::rename(&tmp, archive).with_context(|| format!("writing {}", archive.display()))
}

/// The archive's file names and modes, read back.
pub fn list_archive(archive: &Path) -> Result<Vec<(String, u32)>> {
    let file = fs::File::open(archive).with_context(|| format!("opening {}", archive.display()))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut out = Vec::new();
    for entry in tar.entries().context("reading the archive")? {
        let entry = entry.context("reading the archive")?;
        let path = entry.path().context("a path in the archive")?;
        out.push((
            path.to_string_lossy().into_owned(),
            entry.header().mode()? & 0o7777,
        ));
    }
    Ok(out)
}

/// What the archive must hold, from other sources than the writer: the
/// binary, the root files, a page per command of the parser, a script per
/// shell, and the files git tracks under `contrib/`.
fn expected(root: &Path, top: &str) -> Result<Vec<(String, u32)>> {
    let mut names: Vec<(String, u32)> = vec![("gong-logs".into(), 0o755)];
    names.extend(ROOT_FILES.iter().map(|f| ((*f).to_owned(), 0o644)));
    names.extend(
        gong_logs_cli::man::pages()
            .iter()
            .map(|p| (format!("man/{}", p.file_name()), 0o644)),
    );
    names.extend(
        COMPLETIONS
            .iter()
            .map(|(_, f)| (format!("completions/{f}"), 0o644)),
    );
    let out = Command::new("git")
        .current_dir(root)
        .args(["ls-files", "contrib"])
        .output()
        .context("cannot run git ls-files")?;
    ensure!(out.status.success(), "git ls-files contrib failed");
    names.extend(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| (l.to_owned(), 0o644)),
    );
    Ok(names
        .into_iter()
        .map(|(n, m)| (format!("{top}/{n}"), m))
        .collect())
}

/// Fails naming what is missing from, or extra in, the archive.
pub fn check_listing(listed: &[(String, u32)], expected: &[(String, u32)]) -> Result<()> {
    let missing: Vec<_> = expected.iter().filter(|e| !listed.contains(e)).collect();
    let extra: Vec<_> = listed.iter().filter(|l| !expected.contains(l)).collect();
    ensure!(
        missing.is_empty() && extra.is_empty(),
        "the archive differs from the expected contents: missing {missing:?}, unexpected {extra:?}"
    );
    Ok(())
}

/// `cargo deb` from the release binary just built and the generated files.
fn build_deb(root: &Path, dist: &Path) -> Result<()> {
    let status = Command::new(cargo())
        .current_dir(root)
        .args([
            "deb",
            "--locked",
            "-p",
            "gong-logs-cli",
            "--no-build",
            "--output",
        ])
        .arg(dist)
        .status()
        .context("cannot run cargo deb")?;
    ensure!(status.success(), "cargo deb failed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_extra_file_fails_the_check() {
        let expected = vec![("t/a".to_owned(), 0o644), ("t/gong-logs".to_owned(), 0o755)];
        assert!(check_listing(&expected, &expected).is_ok());
        let missing = check_listing(&expected[..1], &expected).unwrap_err();
        assert!(format!("{missing}").contains("t/gong-logs"), "{missing}");
        let mut extra = expected.clone();
        extra.push(("t/junk".into(), 0o644));
        assert!(check_listing(&extra, &expected).is_err());
        let wrong_mode = vec![("t/a".to_owned(), 0o644), ("t/gong-logs".to_owned(), 0o644)];
        assert!(check_listing(&wrong_mode, &expected).is_err());
    }
}
