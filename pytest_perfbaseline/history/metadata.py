"""What a run's report does not say about it: the git branch and the CI job that ran it.

Both are read cheaply and never raise: the branch from the CI's environment variables or
from ``.git/HEAD`` (a file read, no ``git`` process), the CI job from the environment
variables each provider documents. The commit and dirty flag come from the report's
environment, which the session collects anyway.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CIJob", "ci_job", "git_branch"]

# Per provider: the variable that says it is this CI, the job's name, its URL parts.
_BRANCH_VARIABLES = (
    "GITHUB_HEAD_REF",  # a pull request's source branch (GITHUB_REF_NAME is then "1/merge")
    "GITHUB_REF_NAME",
    "CI_COMMIT_REF_NAME",  # GitLab
    "BUILDKITE_BRANCH",
    "CIRCLE_BRANCH",
    "BRANCH_NAME",  # Jenkins multibranch pipelines
    "GIT_BRANCH",  # Jenkins git plugin ("origin/main")
)


@dataclass(frozen=True)
class CIJob:
    """The CI job a run was made in."""

    provider: str
    """``github``, ``gitlab``, ``buildkite``, ``jenkins``, ``circleci`` or ``ci`` (other)."""
    job: str | None
    url: str | None


def _github(env: Mapping[str, str]) -> CIJob:
    url = None
    if env.get("GITHUB_REPOSITORY") and env.get("GITHUB_RUN_ID"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        url = f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
    workflow, job = env.get("GITHUB_WORKFLOW"), env.get("GITHUB_JOB")
    name = " / ".join(part for part in (workflow, job) if part) or None
    return CIJob("github", name, url)


def _gitlab(env: Mapping[str, str]) -> CIJob:
    return CIJob("gitlab", env.get("CI_JOB_NAME"), env.get("CI_JOB_URL"))


def _buildkite(env: Mapping[str, str]) -> CIJob:
    name = env.get("BUILDKITE_LABEL") or env.get("BUILDKITE_PIPELINE_SLUG")
    return CIJob("buildkite", name, env.get("BUILDKITE_BUILD_URL"))


def _jenkins(env: Mapping[str, str]) -> CIJob:
    return CIJob("jenkins", env.get("JOB_NAME"), env.get("BUILD_URL"))


def _circleci(env: Mapping[str, str]) -> CIJob:
    return CIJob("circleci", env.get("CIRCLE_JOB"), env.get("CIRCLE_BUILD_URL"))


_PROVIDERS = (
    ("GITHUB_ACTIONS", _github),
    ("GITLAB_CI", _gitlab),
    ("BUILDKITE", _buildkite),
    ("JENKINS_URL", _jenkins),
    ("CIRCLECI", _circleci),
)


def ci_job(env: Mapping[str, str] | None = None) -> CIJob | None:
    """The CI job described by ``env`` (default: this process's environment), or None."""
    env = os.environ if env is None else env
    for variable, describe in _PROVIDERS:
        if env.get(variable):
            return describe(env)
    if env.get("CI", "").lower() in ("true", "1", "yes"):
        return CIJob("ci", None, None)
    return None


def git_branch(rootdir: Path, env: Mapping[str, str] | None = None) -> str | None:
    """The branch being tested: the CI's word for it, else ``.git/HEAD``; None if detached."""
    env = os.environ if env is None else env
    for variable in _BRANCH_VARIABLES:
        if env.get(variable):
            return env[variable]
    head = _head_file(rootdir)
    if head is None:
        return None
    try:
        text = head.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    prefix = "ref: refs/heads/"
    return text[len(prefix) :] if text.startswith(prefix) else None


def _head_file(rootdir: Path) -> Path | None:
    """``HEAD`` of the repository holding ``rootdir`` (a worktree's ``.git`` is a file)."""
    for folder in (rootdir, *rootdir.parents):
        dotgit = folder / ".git"
        if dotgit.is_dir():
            return dotgit / "HEAD"
        if dotgit.is_file():
            try:
                text = dotgit.read_text(encoding="utf-8", errors="replace").strip()
            except OSError:
                return None
            if text.startswith("gitdir:"):
                gitdir = Path(text[len("gitdir:") :].strip())
                return (gitdir if gitdir.is_absolute() else folder / gitdir) / "HEAD"
            return None
    return None
