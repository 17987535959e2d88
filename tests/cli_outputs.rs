//! Nothing lost, ever: for every command that writes several outputs, a run
//! where one output cannot be written (its name is a folder) fails, leaves
//! every existing output byte-identical and adds no file (temporary files
//! included); the same outputs then succeed together; one file named for two
//! outputs is a usage error.

mod common;

use std::path::Path;

use common::cli::{fails, gpix, listing, run, s};
use gpix::io::npy::write_npy;

/// The outputs of one command, each flag with its file name.
struct Case {
    /// Arguments before the outputs (inputs, options).
    args: Vec<String>,
    /// (flag, or "" for the positional output; its file name, or two names
    /// joined by a comma for `--eigen`).
    outputs: Vec<(&'static str, &'static str)>,
}

fn inputs(d: &Path) {
    let x: Vec<f64> = (0..6 * 7).map(|i| (i * 37 % 11) as f64 * 0.5).collect();
    write_npy(std::fs::File::create(d.join("x.npy")).unwrap(), &[6, 7], &x).unwrap();
    let labels: Vec<i32> = (0..6 * 7).map(|i| i % 3).collect();
    write_npy(
        std::fs::File::create(d.join("labels.npy")).unwrap(),
        &[6, 7],
        &labels,
    )
    .unwrap();
    let rgb: Vec<u8> = (0..6 * 7 * 3).map(|i| (i * 53 % 256) as u8).collect();
    write_npy(
        std::fs::File::create(d.join("rgb.npy")).unwrap(),
        &[6, 7, 3],
        &rgb,
    )
    .unwrap();
    std::fs::write(d.join("pal.txt"), "#000000\n#ff8000\n#ffffff\n").unwrap();
}

fn cases(d: &Path) -> Vec<Case> {
    let p = |name: &str| d.join(name).to_string_lossy().into_owned();
    let args = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    vec![
        Case {
            args: args(&["gradient", &p("x.npy")]),
            outputs: vec![
                ("--dy", "dy.npy"),
                ("--dx", "dx.npy"),
                ("--magnitude", "m.npy"),
            ],
        },
        Case {
            args: args(&["hessian", &p("x.npy")]),
            outputs: vec![
                ("--dyy", "dyy.npy"),
                ("--dxy", "dxy.npy"),
                ("--dxx", "dxx.npy"),
                ("--eigen", "e1.npy,e2.npy"),
            ],
        },
        Case {
            args: args(&["stats", &p("x.npy"), "--size", "3"]),
            outputs: vec![
                ("--mean", "mean.npy"),
                ("--var", "var.npy"),
                ("--std", "std.npy"),
            ],
        },
        Case {
            args: args(&["quantize", &p("rgb.npy"), "--palette", &p("pal.txt")]),
            outputs: vec![
                ("", "q.npy"),
                ("--index-out", "ix.npy"),
                ("--palette-out", "p.gpl"),
            ],
        },
        Case {
            args: args(&["quantize", &p("rgb.npy"), "--colors", "4"]),
            outputs: vec![
                ("", "q.png"),
                ("--index-out", "ix.npy"),
                ("--palette-out", "p.txt"),
            ],
        },
        Case {
            args: args(&["label-mean", &p("x.npy"), &p("labels.npy")]),
            outputs: vec![("", "lm.npy"), ("--table", "t.csv")],
        },
        Case {
            args: args(&["filter", "uniform", "--size", "3", &p("x.npy")]),
            outputs: vec![("", "u.npy")],
        },
    ]
}

/// The full argument list with every output in `d`.
fn argv(case: &Case, d: &Path) -> Vec<String> {
    let mut v = case.args.clone();
    let mut positional = Vec::new();
    let mut flags = Vec::new();
    for (flag, names) in &case.outputs {
        let joined = names
            .split(',')
            .map(|n| d.join(n).to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(",");
        if flag.is_empty() {
            positional.push(joined);
        } else {
            flags.push(flag.to_string());
            flags.push(joined);
        }
    }
    v.extend(positional);
    v.extend(flags);
    v.extend(["--device".to_string(), "cpu".to_string()]);
    v
}

fn names(case: &Case) -> Vec<&'static str> {
    case.outputs
        .iter()
        .flat_map(|(_, n)| n.split(','))
        .collect()
}

#[test]
fn one_unwritable_output_leaves_every_output_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    inputs(d);
    for case in cases(d) {
        let names = names(&case);
        for bad in 0..names.len() {
            // Every other output exists with known bytes; the bad one is a
            // folder, so it cannot be replaced by a file.
            for (i, name) in names.iter().enumerate() {
                let path = d.join(name);
                if i == bad {
                    std::fs::create_dir(&path).unwrap();
                } else {
                    std::fs::write(&path, format!("old {name}")).unwrap();
                }
            }
            let args = argv(&case, d);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            fails(&args, d, names[bad], 1);
            for (i, name) in names.iter().enumerate() {
                let path = d.join(name);
                if i == bad {
                    assert!(path.is_dir(), "{args:?}: {name}");
                    std::fs::remove_dir(&path).unwrap();
                } else {
                    assert_eq!(
                        std::fs::read(&path).unwrap(),
                        format!("old {name}").into_bytes(),
                        "{args:?} changed {name}"
                    );
                    std::fs::remove_file(&path).unwrap();
                }
            }
        }
        // With every target writable, the same run replaces them all and
        // leaves no temporary file.
        for name in &names {
            std::fs::write(d.join(name), "old").unwrap();
        }
        let before = listing(d);
        let args = argv(&case, d);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&args);
        assert_eq!(listing(d), before, "{args:?}");
        for name in &names {
            assert_ne!(
                std::fs::read(d.join(name)).unwrap(),
                b"old",
                "{args:?}: {name}"
            );
            std::fs::remove_file(d.join(name)).unwrap();
        }
    }
}

#[test]
fn one_file_named_for_two_outputs_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    inputs(d);
    let (x, same) = (d.join("x.npy"), d.join("same.npy"));
    std::fs::write(&same, "keep").unwrap();
    let out = gpix()
        .args(["gradient", s(&x), "--dy", s(&same), "--dx", s(&same)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a usage error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("named for two outputs"), "{stderr}");
    assert_eq!(std::fs::read(&same).unwrap(), b"keep");
}
