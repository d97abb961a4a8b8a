//! The thread plan: which stages run on which thread, pinned to which cores.

use std::fmt;

/// Where a stage sits in the pipeline; a fused thread polls downstream ranks first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rank {
    /// An output (or a runner's writer).
    Output,
    /// The route stage.
    Route,
    /// The message generator.
    Generator,
    /// A decode stage or shard.
    Decode,
    /// An input.
    Input,
}

/// A stage the plan must place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageInfo {
    /// The stage's plan name.
    pub name: String,
    /// Its place in the pipeline.
    pub rank: Rank,
}

/// One planned thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedThread {
    /// Cores it may run on; empty = unpinned.
    pub cores: Vec<usize>,
    /// Its stages, downstream first.
    pub stages: Vec<StageInfo>,
}

/// The stage → thread → core plan of a pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The threads.
    pub threads: Vec<PlannedThread>,
    /// Whether the plan came from the config (`false`: derived from the core count).
    pub from_config: bool,
}

impl Plan {
    /// The default plan for `stages` on `cores` (the CPUs this process may use):
    /// 1 core: one fused thread; 2: inputs | the rest; 3: inputs | decode | route and
    /// outputs; 4 or more: inputs | decode | route | outputs.
    pub fn default_for(stages: &[StageInfo], cores: &[usize]) -> Plan {
        let groups: Vec<Vec<Rank>> = match cores.len() {
            0 | 1 => vec![vec![
                Rank::Input,
                Rank::Decode,
                Rank::Generator,
                Rank::Route,
                Rank::Output,
            ]],
            2 => vec![
                vec![Rank::Input],
                vec![Rank::Decode, Rank::Generator, Rank::Route, Rank::Output],
            ],
            3 => vec![
                vec![Rank::Input],
                vec![Rank::Decode],
                vec![Rank::Generator, Rank::Route, Rank::Output],
            ],
            _ => vec![
                vec![Rank::Input],
                vec![Rank::Decode],
                vec![Rank::Generator, Rank::Route],
                vec![Rank::Output],
            ],
        };
        let mut threads = Vec::new();
        for (i, ranks) in groups.iter().enumerate() {
            let mut ss: Vec<StageInfo> = stages
                .iter()
                .filter(|s| ranks.contains(&s.rank))
                .cloned()
                .collect();
            if ss.is_empty() {
                continue;
            }
            ss.sort_by_key(|s| s.rank);
            let cores = cores.get(i).map(|&c| vec![c]).unwrap_or_default();
            threads.push(PlannedThread { cores, stages: ss });
        }
        Plan {
            threads,
            from_config: false,
        }
    }

    /// The plan the config gives: every stage exactly once, known names only.
    ///
    /// # Errors
    ///
    /// A message naming the first stage that is unknown, repeated or missing.
    pub fn from_config(
        stages: &[StageInfo],
        threads: &[(Vec<usize>, Vec<String>)],
    ) -> Result<Plan, String> {
        let mut placed = vec![false; stages.len()];
        let mut out = Vec::new();
        for (t, (cores, names)) in threads.iter().enumerate() {
            let mut ss = Vec::new();
            for name in names {
                let Some(i) = stages.iter().position(|s| &s.name == name) else {
                    let known: Vec<&str> = stages.iter().map(|s| s.name.as_str()).collect();
                    return Err(format!(
                        "engine.threads[{t}]: no stage named {name:?} (stages: {})",
                        known.join(", ")
                    ));
                };
                if placed[i] {
                    return Err(format!(
                        "engine.threads[{t}]: stage {name:?} is placed twice"
                    ));
                }
                placed[i] = true;
                ss.push(stages[i].clone());
            }
            ss.sort_by_key(|s| s.rank);
            out.push(PlannedThread {
                cores: cores.clone(),
                stages: ss,
            });
        }
        if let Some(i) = placed.iter().position(|p| !p) {
            return Err(format!(
                "engine.threads: stage {:?} is on no thread",
                stages[i].name
            ));
        }
        Ok(Plan {
            threads: out.into_iter().filter(|t| !t.stages.is_empty()).collect(),
            from_config: true,
        })
    }

    /// Cores the plan names that are not in `available`.
    pub fn missing_cores(&self, available: &[usize]) -> Vec<usize> {
        let mut v: Vec<usize> = self
            .threads
            .iter()
            .flat_map(|t| t.cores.iter().copied())
            .filter(|c| !available.contains(c))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = if self.from_config {
            "config"
        } else {
            "default for this host"
        };
        writeln!(f, "plan ({origin}): {} thread(s)", self.threads.len())?;
        writeln!(f, "{:<24} {:<8} cores", "stage", "thread")?;
        for (i, t) in self.threads.iter().enumerate() {
            let cores = if t.cores.is_empty() {
                "any".to_string()
            } else {
                t.cores
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            for s in &t.stages {
                writeln!(f, "{:<24} {:<8} {cores}", s.name, i)?;
            }
        }
        Ok(())
    }
}

/// The CPUs this process may run on (honours `taskset`), sorted.
pub fn available_cores() -> Vec<usize> {
    let mut v: Vec<usize> = core_affinity::get_core_ids()
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.id)
        .collect();
    v.sort_unstable();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stages() -> Vec<StageInfo> {
        [
            ("udp", Rank::Input),
            ("decode", Rank::Decode),
            ("route", Rank::Route),
            ("file", Rank::Output),
        ]
        .iter()
        .map(|(n, r)| StageInfo {
            name: n.to_string(),
            rank: *r,
        })
        .collect()
    }

    #[test]
    fn one_core_fuses_everything_downstream_first() {
        let p = Plan::default_for(&stages(), &[1]);
        assert_eq!(p.threads.len(), 1);
        let names: Vec<&str> = p.threads[0]
            .stages
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(names, ["file", "route", "decode", "udp"]);
        assert_eq!(p.threads[0].cores, [1]);
    }

    #[test]
    fn two_cores_split_inputs_from_the_rest() {
        let p = Plan::default_for(&stages(), &[0, 1]);
        assert_eq!(p.threads.len(), 2);
        assert_eq!(p.threads[0].stages[0].name, "udp");
        assert_eq!(p.threads[1].cores, [1]);
    }

    #[test]
    fn config_plan_must_place_every_stage_once() {
        let t = |names: &[&str]| (vec![0], names.iter().map(|s| s.to_string()).collect());
        let err = Plan::from_config(&stages(), &[t(&["udp", "decode", "route"])]).unwrap_err();
        assert!(err.contains("\"file\" is on no thread"), "{err}");
        let err = Plan::from_config(&stages(), &[t(&["udp", "udp"])]).unwrap_err();
        assert!(err.contains("placed twice"), "{err}");
        let err = Plan::from_config(&stages(), &[t(&["nope"])]).unwrap_err();
        assert!(err.contains("no stage named \"nope\""), "{err}");
        let ok = Plan::from_config(&stages(), &[t(&["udp"]), t(&["file", "decode", "route"])]);
        assert_eq!(ok.unwrap().threads[1].stages[0].name, "file");
    }
}
