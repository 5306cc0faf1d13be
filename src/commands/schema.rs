//! `irsnap schema`: list the schemas, print one, or write them all to a folder (how the
//! repository's `schema/` is regenerated: `irsnap schema --out schema/`).

use crate::cli::SchemaArgs;
use crate::outcome::Exit;
use anyhow::Context;

pub fn run(args: &SchemaArgs) -> anyhow::Result<Exit> {
    let docs = crate::schema::all();
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for doc in &docs {
            let path = dir.join(doc.file_name());
            std::fs::write(&path, doc.to_text())
                .with_context(|| format!("writing {}", path.display()))?;
            outln!("{}", path.display());
        }
        let path = dir.join(crate::schema::DUCKDB_SQL);
        std::fs::write(&path, crate::schema::duckdb_generic())
            .with_context(|| format!("writing {}", path.display()))?;
        outln!("{}", path.display());
        return Ok(Exit::Success);
    }
    match &args.name {
        None => {
            for doc in &docs {
                outln!("{:<18} {}", doc.name, doc.describes);
            }
            Ok(Exit::Success)
        }
        Some(name) => {
            let Some(doc) = docs.iter().find(|d| d.name == name) else {
                let names: Vec<&str> = docs.iter().map(|d| d.name).collect();
                anyhow::bail!("no schema named {name:?} (one of: {})", names.join(", "));
            };
            out!("{}", doc.to_text());
            Ok(Exit::Success)
        }
    }
}
