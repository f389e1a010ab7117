"""`dupfix audit`: every duplicate and quarantined value that exists today, with a checked fix plan.

One module per job, data flowing one way:

- `collect`: streams each source's `scan()` once, keeps compact key maps and spools objects to
  disk, and hands back only the objects that can be in a conflict (memory follows the conflicts);
- `conflicts` (pure): objects -> conflicts, by the check's own claim keys, identities and rules;
- `resolutions` (pure): conflict -> suggested resolution and reason (never applied);
- `run`: findings, policy, fingerprints -> `model.Report` (the check's report shape);
- `emit`: the suggested plan (native YAML) and its on-prem part (LDIF);
- `render` (audit JSON and text), `csv_report`, `html_report` (reporter plugins for any report);
- `command`: the CLI command.
"""

from __future__ import annotations

from .run import AuditResult, AuditSummary, audit_fingerprint, run_audit

__all__ = ["AuditResult", "AuditSummary", "audit_fingerprint", "run_audit"]
