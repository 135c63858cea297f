"""Replay a Dockerfile without Docker: each stage's filesystem is a temporary directory.

Docker cannot run where the tests run, so this interprets the instructions our Dockerfile uses
(FROM, ENV, RUN, WORKDIR, COPY, USER, EXPOSE, HEALTHCHECK, ENTRYPOINT, CMD) and fails on any other,
so a new instruction has to be taught here rather than silently skipped. Every absolute path in an
instruction is mapped into the stage's directory. Each stage starts from a throwaway copy of this
machine's Python (a venv standing in for the base image's /usr/local), so nothing is ever
installed into the host. RUN lines that set up the operating system (apt-get, accounts) are the
only ones skipped: they are the base image's business, not the Python recipe.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

SKIPPED_COMMANDS = {"apt-get", "groupadd", "useradd"}
NETWORK_SETTINGS = (
    "PIP_",
    "UV_",
    "SSL_CERT_",
    "REQUESTS_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)
BASE_IMAGE_PATH = "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"
# An absolute path: not part of a URL (`://`), a word, or a `$VAR/...` expansion.
ABSOLUTE_PATH = re.compile(r"(?<![\w:/.$-])/[\w][\w.+-]*(?:/[\w.+*-]*)*")


@dataclass
class Instruction:
    keyword: str
    flags: dict[str, str]
    value: str
    line: int


@dataclass
class Stage:
    index: int
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)


def parse(text: str) -> list[Stage]:
    """Stages with their instructions; continuation lines joined, comments dropped."""
    logical: list[tuple[int, str]] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not buffer and (not stripped or stripped.startswith("#")):
            continue
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        logical.append((start, buffer + stripped))
        buffer = ""
    stages: list[Stage] = []
    for number, line in logical:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        flags: dict[str, str] = {}
        while rest.startswith("--"):
            flag, _, rest = rest.partition(" ")
            name, _, value = flag[2:].partition("=")
            flags[name] = flags[name] + "," + value if name in flags else value
            rest = rest.lstrip()
        if keyword == "FROM":
            words = rest.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(len(stages), words[0], name))
            continue
        if not stages:
            raise ValueError(f"line {number}: {keyword} before FROM")
        stages[-1].instructions.append(Instruction(keyword, flags, rest.strip(), number))
    return stages


def dockerignore_patterns(path: Path) -> list[tuple[str, bool]]:
    patterns = []
    if path.exists():
        for line in path.read_text().splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            patterns.append((line.lstrip("!").strip("/"), negate))
    return patterns


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def is_ignored(relative: str, patterns: list[tuple[str, bool]]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = relative.strip("/").split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    ignored = False
    for pattern, negate in patterns:
        regex = _pattern_regex(pattern)
        if any(regex.match(prefix) for prefix in prefixes):
            ignored = not negate
    return ignored


@dataclass
class Image:
    """What the final stage left: its root, environment, user and start command (host paths)."""

    root: Path
    env: dict[str, str]
    workdir: Path
    user: str
    exposed: list[str]
    healthcheck: list[str]
    entrypoint: list[str]
    cmd: list[str]
    run_log: list[str]


class Replay:
    def __init__(self, dockerfile: Path, workspace: Path, cache_dir: Path) -> None:
        self.dockerfile = dockerfile
        self.context = dockerfile.parent
        self.workspace = workspace
        self.cache_dir = cache_dir
        self.ignore = dockerignore_patterns(self.context / ".dockerignore")
        self.stages = parse(dockerfile.read_text())
        self.roots: dict[str, Path] = {}
        self.run_log: list[str] = []

    # ---- paths ----------------------------------------------------------------------------
    @staticmethod
    def map_paths(text: str, root: Path) -> str:
        return ABSOLUTE_PATH.sub(lambda m: str(root) + m.group(0), text)

    @staticmethod
    def expand(text: str, env: dict[str, str]) -> str:
        return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: env.get(m.group(1) or m.group(2), ""), text)

    def _stage_root(self, reference: str) -> Path:
        if reference not in self.roots:
            raise ValueError(f"unknown stage {reference!r}")
        return self.roots[reference]

    # ---- the replay -----------------------------------------------------------------------
    def build(self) -> Image:
        image: Image | None = None
        for stage in self.stages:
            image = self._build_stage(stage)
        assert image is not None, "no FROM in the Dockerfile"
        return image

    def _build_stage(self, stage: Stage) -> Image:
        root = self.workspace / f"stage-{stage.index}"
        root.mkdir(parents=True)
        self.roots[str(stage.index)] = root
        if stage.name:
            self.roots[stage.name] = root
        env = {
            "PATH": self.map_paths(BASE_IMAGE_PATH, root),
            "HOME": str(root / "root"),
            "LANG": "C.UTF-8",
        }
        # The package index this machine reaches (its pip settings, proxies and certificate
        # authorities) stands in for the one a build reaches.
        env.update({k: v for k, v in os.environ.items() if k.startswith(NETWORK_SETTINGS)})
        workdir = root
        user, exposed, healthcheck = "root", [], []
        entrypoint: list[str] = []
        cmd: list[str] = []
        for ins in stage.instructions:
            if ins.keyword == "ENV":
                for pair in shlex.split(ins.value):
                    key, _, value = pair.partition("=")
                    env[key] = self.expand(self.map_paths(value, root), env)
            elif ins.keyword == "WORKDIR":
                workdir = Path(self.map_paths(self.expand(ins.value, env), root))
                workdir.mkdir(parents=True, exist_ok=True)
            elif ins.keyword == "COPY":
                self._copy(ins, root, workdir)
            elif ins.keyword == "RUN":
                self._run(ins, root, workdir, env)
            elif ins.keyword == "USER":
                user = ins.value
            elif ins.keyword == "EXPOSE":
                exposed += ins.value.split()
            elif ins.keyword == "HEALTHCHECK":
                kind, _, command = ins.value.partition(" ")
                assert kind.upper() == "CMD", f"line {ins.line}: HEALTHCHECK CMD expected"
                healthcheck = [self.map_paths(a, root) for a in json.loads(command)]
            elif ins.keyword == "ENTRYPOINT":
                entrypoint = [self.map_paths(a, root) for a in json.loads(ins.value)]
            elif ins.keyword == "CMD":
                cmd = [self.map_paths(a, root) for a in json.loads(ins.value)]
            else:
                raise ValueError(f"line {ins.line}: the replay does not know {ins.keyword}")
        return Image(root, env, workdir, user, exposed, healthcheck, entrypoint, cmd, self.run_log)

    def _base_image_python(self) -> Path:
        """Made once and kept, as Docker keeps a pulled base image."""
        version = "{}.{}.{}".format(*sys.version_info[:3])
        base = self.cache_dir / f"base-python-{version}"
        if not (base / "bin" / "python").exists():
            shutil.rmtree(base, ignore_errors=True)
            interpreter = sys._base_executable  # type: ignore[attr-defined]
            subprocess.run([interpreter, "-m", "venv", str(base)], check=True)
        return base

    def _copy(self, ins: Instruction, root: Path, workdir: Path) -> None:
        words = json.loads(ins.value) if ins.value.startswith("[") else shlex.split(ins.value)
        *sources, dest = words
        source_root = self._stage_root(ins.flags["from"]) if "from" in ins.flags else None
        target = Path(self.map_paths(dest, root)) if dest.startswith("/") else workdir / dest
        into_directory = dest.endswith("/") or len(sources) > 1
        for source in sources:
            if source_root is not None:
                origin = Path(self.map_paths(source, source_root))
            else:
                origin = self.context / source
                if is_ignored(source, self.ignore):
                    raise FileNotFoundError(f"line {ins.line}: {source} is in .dockerignore")
            if not origin.exists():
                raise FileNotFoundError(f"line {ins.line}: {origin} does not exist")
            if origin.is_dir():
                self._copy_tree(origin, target, source_root is None, source)
            else:
                path = target / origin.name if into_directory else target
                path.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, path)
                if "chmod" in ins.flags:
                    path.chmod(int(ins.flags["chmod"], 8))

    def _copy_tree(self, origin: Path, target: Path, from_context: bool, source: str) -> None:
        for directory, dirnames, filenames in os.walk(origin):
            relative = Path(directory).relative_to(origin)
            for name in [d for d in dirnames if (Path(directory) / d).is_symlink()]:
                dirnames.remove(name)  # a link to a directory (a venv's lib64) stays a link
                link = target / relative / name
                link.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(os.readlink(Path(directory) / name), link)
            if from_context:
                dirnames[:] = [
                    d
                    for d in dirnames
                    if not is_ignored(f"{source.rstrip('/')}/{relative / d}", self.ignore)
                ]
            (target / relative).mkdir(parents=True, exist_ok=True)
            for name in filenames:
                if from_context and is_ignored(
                    f"{source.rstrip('/')}/{relative / name}", self.ignore
                ):
                    continue
                src, dst = Path(directory) / name, target / relative / name
                if src.is_symlink():
                    os.symlink(os.readlink(src), dst)
                elif from_context:
                    shutil.copy2(src, dst)
                else:
                    os.link(src, dst)  # a stage's files: identical content, no copying time

    def _run(self, ins: Instruction, root: Path, workdir: Path, env: dict[str, str]) -> None:
        if ins.value.split()[0] in SKIPPED_COMMANDS:
            return
        base_python = root / "usr" / "local"
        if not base_python.exists():
            # The base image's Python: a venv copied into the stage when it first runs a
            # command, so `pip install` in a stage lands there, never in the host's Python.
            shutil.copytree(self._base_image_python(), base_python, symlinks=True)
        mounts = []
        for spec in filter(None, ins.flags.get("mount", "").split(",type=")):
            options = dict(
                part.split("=", 1) for part in ("type=" + spec.removeprefix("type=")).split(",")
            )
            target = Path(self.map_paths(options["target"], root))
            if options["type"] == "cache":  # a cache mount persists across builds
                origin = self.cache_dir / options["target"].strip("/").replace("/", "_")
                origin.mkdir(parents=True, exist_ok=True)
            elif options["type"] == "bind":
                source = options.get("source", "/")
                if "from" in options:
                    origin = self._stage_root(options["from"]) / source.lstrip("/")
                else:
                    origin = self.context / source.lstrip("/")
            else:
                raise ValueError(f"line {ins.line}: mount type {options['type']} unknown")
            target.parent.mkdir(parents=True, exist_ok=True)
            hidden = target.with_name(target.name + ".under-mount")
            if target.exists() or target.is_symlink():
                target.rename(hidden)  # a mount hides what the image has at that path
            target.symlink_to(origin, target_is_directory=True)
            mounts.append((target, hidden))
        command = self.map_paths(ins.value, root)
        self.run_log.append(command)
        try:
            result = subprocess.run(
                ["/bin/sh", "-c", command],
                cwd=workdir,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
        finally:
            for target, hidden in mounts:
                target.unlink()
                if hidden.exists() or hidden.is_symlink():
                    hidden.rename(target)
        if result.returncode != 0:
            raise AssertionError(
                f"Dockerfile line {ins.line} failed ({result.returncode}): {command}\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )


def is_executable(path: Path) -> bool:
    return bool(path.stat().st_mode & stat.S_IXUSR)
