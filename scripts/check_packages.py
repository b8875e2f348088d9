#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Fails when the build, the tests or the scripts use a file that no package of the install list
provides, directly or through its dependencies.

What counts as "used" (evidence):
  * build:  every header in the compiler's dependency output (`ninja -t deps`), every library on a
            link line and the compiler, assembler and linker (`ninja -t commands`), every CMake file
            the configure step read (the RERUN_CMAKE inputs in build.ninja), the pkg-config files of
            the modules CMake asked for, and cmake, ninja and pkg-config themselves;
  * runs:   every program executed and every Python module imported while the tests and the demo ran,
            from an `strace -f -z -e trace=execve,execveat,openat` log (see .ci/run);
  * scripts: the tools a script declares with `need_tools` (scripts/lib.sh), for scripts CI does not
            run (the benchmarks).
Files inside the source tree, ../shared, the build directory or a temporary directory are the
project's own and are not checked.

Each path is mapped to its package with `dpkg -S`, trying the path as named, its real path, and the
/usr <-> / alias of each (Debian 12 is merged-/usr). A path that maps to no package fails the check.
The packages that count as provided are the install list, the packages Debian installs on every
system (Essential: yes and Priority: required, as `debootstrap --variant=minbase` does), and the
dependency closure of both (Depends and Pre-Depends; Recommends are not installed).

Exit status: 0 all provided, 1 problems found (each names the file, why it is needed and the package
to add), 2 usage or environment error.
"""

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
from collections import defaultdict

MERGED_USR_DIRS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")


def fail_usage(message):
    print(f"check-packages: {message}", file=sys.stderr)
    sys.exit(2)


def run(argv, **kwargs):
    try:
        return subprocess.run(argv, capture_output=True, text=True, **kwargs)
    except FileNotFoundError:
        fail_usage(f"{argv[0]} is not installed; it is needed to collect the evidence")


# --- The install list and what it provides ------------------------------------------------------

def read_package_list(path):
    packages = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                name = line.split("#", 1)[0].strip()
                if name:
                    packages.append(name)
    except OSError as e:
        fail_usage(f"cannot read the package list {path}: {e.strerror}")
    return packages


class InstalledPackages:
    """The dpkg database: installed packages, their dependencies and what they provide."""

    def __init__(self):
        fmt = "${Package}\t${Status}\t${Essential}\t${Priority}\t${Pre-Depends}\t${Depends}\t${Provides}\n"
        out = run(["dpkg-query", "-W", "-f", fmt]).stdout
        self.depends = {}
        self.base = set()
        self.providers = defaultdict(list)  # virtual or real name -> installed packages
        for line in out.splitlines():
            name, status, essential, priority, pre_depends, depends, provides = line.split("\t")
            name = name.split(":")[0]
            if not status.endswith(" installed"):
                continue
            self.depends[name] = [d for d in (pre_depends, depends) if d]
            self.providers[name].append(name)
            for p in filter(None, (x.strip() for x in provides.split(","))):
                self.providers[p.split()[0].split(":")[0]].append(name)
            if essential == "yes" or priority == "required":
                self.base.add(name)

    def installed(self, name):
        return name in self.depends

    def _resolve(self, alternatives):
        # "a | b (>= 1)": the first alternative that is installed (what apt would have chosen).
        for alt in alternatives.split("|"):
            name = alt.strip().split()[0].split(":")[0]
            if name in self.providers:
                return self.providers[name][0]
        return None

    def closure(self, roots):
        seen = set()
        stack = [r for r in roots if self.installed(r)]
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            for field in self.depends.get(name, []):
                for clause in field.split(","):
                    dep = self._resolve(clause)
                    if dep and dep not in seen:
                        stack.append(dep)
        return seen


# --- Evidence ------------------------------------------------------------------------------------

class Evidence:
    def __init__(self, own_dirs):
        self.own_dirs = [os.path.realpath(d) for d in own_dirs]
        self.why = {}  # path -> first reason it is needed

    def add(self, path, why):
        if not path or not os.path.isabs(path):
            return
        path = os.path.normpath(path)
        if self.is_own(path):
            return
        self.why.setdefault(path, why)

    def is_own(self, path):
        real = os.path.realpath(path)
        for d in self.own_dirs:
            for p in (path, real):
                if p == d or p.startswith(d + os.sep):
                    return True
        return False


def ninja_build_statement(build_ninja, rule):
    """Implicit inputs of the first `build ...: RULE | inputs` statement (with $-continuations)."""
    with open(build_ninja, encoding="utf-8") as f:
        text = f.read().replace("$\n", " ")
    for line in text.splitlines():
        if line.startswith("build ") and re.search(r":\s*" + rule + r"\b", line):
            _, _, inputs = line.partition(f"{rule} ")
            inputs = inputs.split("||")[0]
            inputs = inputs.split("|", 1)[1] if "|" in inputs else inputs
            tokens = re.split(r"(?<!\$) +", inputs.strip())
            return [t.replace("$ ", " ").replace("$:", ":").replace("$$", "$") for t in tokens if t]
    return []


def read_cmake_cache(build_dir):
    cache = {}
    with open(os.path.join(build_dir, "CMakeCache.txt"), encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^([^#/][^:=]*):[A-Z]+=(.*)$", line.rstrip("\n"))
            if m:
                cache[m.group(1)] = m.group(2)
    return cache


def which(tool):
    for d in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep):
        candidate = os.path.join(d, tool)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def collect_build(build_dir, evidence):
    cache = read_cmake_cache(build_dir)
    ninja = cache.get("CMAKE_MAKE_PROGRAM") or which("ninja")
    for key, why in (("CMAKE_COMMAND", "cmake, the build system"),
                     ("CMAKE_MAKE_PROGRAM", "ninja, the build tool"),
                     ("PKG_CONFIG_EXECUTABLE", "pkg-config, used by CMake"),
                     ("CMAKE_CXX_COMPILER", "the C++ compiler"),
                     ("CMAKE_C_COMPILER", "the C compiler"),
                     ("CMAKE_AR", "the archiver"),
                     ("CMAKE_LINKER", "the linker")):
        if cache.get(key):
            evidence.add(cache[key], why)
    compiler = cache.get("CMAKE_CXX_COMPILER", "c++")
    for prog in ("cc1plus", "as", "ld", "collect2"):
        out = run([compiler, f"-print-prog-name={prog}"]).stdout.strip()
        path = out if os.path.isabs(out) else which(out)
        evidence.add(path, f"{prog}, run by the C++ compiler")

    # CMake files read while configuring: modules and package configuration files.
    for path in ninja_build_statement(os.path.join(build_dir, "build.ninja"), "RERUN_CMAKE"):
        evidence.add(path, "read by CMake while configuring (find_package / include)")

    # pkg-config modules CMake asked for (pkg_check_modules).
    for key, value in cache.items():
        if key.startswith("__pkg_config_arguments_"):
            keywords = {"REQUIRED", "QUIET", "IMPORTED_TARGET", "GLOBAL", "NO_CMAKE_PATH",
                        "NO_CMAKE_ENVIRONMENT_PATH"}
            for module in value.split(";"):
                module = re.split(r"[<>=]", module)[0].strip()
                if module and module not in keywords:
                    out = run(["pkg-config", "--path", module])
                    evidence.add(out.stdout.strip(), f"pkg-config module {module}, asked for by CMake")

    # Headers: the compiler's dependency output, as ninja recorded it.
    deps = run([ninja, "-C", build_dir, "-t", "deps"])
    if deps.returncode != 0:
        fail_usage(f"ninja -t deps failed in {build_dir}: {deps.stderr.strip()}")
    target = None
    recorded = set()
    for line in deps.stdout.splitlines():
        if line and not line.startswith(" "):
            target = line.split(":")[0]
        elif line.strip():
            path = line.strip()
            if not os.path.isabs(path):
                path = os.path.join(build_dir, path)
            evidence.add(path, f"header included by {target}")
            recorded.add(target)
    # Every compiled object must have its dependencies recorded, or headers would go unchecked.
    try:
        with open(os.path.join(build_dir, "compile_commands.json"), encoding="utf-8") as f:
            objects = {e["output"] for e in json.load(f) if "output" in e}
    except (OSError, ValueError) as e:
        fail_usage(f"cannot read {build_dir}/compile_commands.json ({e}); configure with "
                   "CMAKE_EXPORT_COMPILE_COMMANDS=ON (the top-level CMakeLists.txt sets it)")
    unrecorded = sorted(objects - recorded)
    if unrecorded:
        fail_usage(f"{len(unrecorded)} object(s) in {build_dir} have no recorded header dependencies "
                   f"(first: {unrecorded[0]}): build them (or rebuild from scratch) before the check")

    # Link lines: libraries named by path or with -l.
    commands = run([ninja, "-C", build_dir, "-t", "commands"]).stdout
    libdir_cache = {}
    for command in commands.splitlines():
        for part in command.split("&&"):
            try:
                argv = shlex.split(part)
            except ValueError:
                continue
            if "-o" not in argv or "-c" in argv:
                continue
            output = argv[argv.index("-o") + 1] if argv.index("-o") + 1 < len(argv) else "?"
            for arg in argv:
                if arg.startswith("-l") and len(arg) > 2 and not arg.startswith("-l:"):
                    name = arg[2:]
                    if name not in libdir_cache:
                        found = run([compiler, f"-print-file-name=lib{name}.so"]).stdout.strip()
                        if not os.path.isabs(found):
                            found = run([compiler, f"-print-file-name=lib{name}.a"]).stdout.strip()
                        libdir_cache[name] = found if os.path.isabs(found) else None
                    if libdir_cache[name]:
                        evidence.add(libdir_cache[name], f"library -l{name} on the link line of {output}")
                    else:
                        evidence.add(f"/nonexistent/lib{name}.so",
                                     f"library -l{name} on the link line of {output} (not found)")
                elif re.search(r"\.(so(\.[0-9.]+)?|a)$", arg) and os.path.isabs(arg):
                    evidence.add(arg, f"library on the link line of {output}")


def collect_trace(trace_file, evidence):
    exec_re = re.compile(r'^\d+\s+(?:\+\+\+ )?(execve|execveat)\((?:[^,]+, )?"((?:[^"\\]|\\.)*)", \[(.*?)\]')
    open_re = re.compile(r'^\d+\s+openat\([^,]+, "((?:[^"\\]|\\.)*)", ([A-Z_|]+).*\)\s+= \d+')
    python_dir = re.compile(r"^/usr/(local/)?lib/python3(\.\d+)?/")
    site_module = re.compile(r"^/usr/(?:local/)?lib/python3(?:\.\d+)?/(?:dist|site)-packages/([^/.]+)")
    modules = {}
    site_imports = set()  # modules imported by the machine's own .pth files
    try:
        f = open(trace_file, encoding="utf-8", errors="replace")
    except OSError as e:
        fail_usage(f"cannot read the trace {trace_file}: {e.strerror}")
    with f:
        for line in f:
            m = exec_re.match(line)
            if m:
                argv = re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(3))[:4]
                evidence.add(m.group(2), "run: " + " ".join(argv)[:120])
                continue
            m = open_re.match(line)
            if not m or not python_dir.match(m.group(1)) or "O_DIRECTORY" in m.group(2):
                continue  # directories are site.py's scans, not imports
            path = m.group(1)
            if path.endswith(".pth"):
                # Python's site module reads every .pth file of the machine at start-up, whatever
                # the program: they are the machine's set-up, not something a test uses. What they
                # import is left out with them.
                try:
                    with open(path, encoding="utf-8", errors="replace") as pth:
                        text = pth.read()
                    site_imports.update(re.findall(r"\bimport\s+(\w+)", text))
                    site_imports.update(re.findall(r"__import__\(\s*['\"](\w+)", text))
                except OSError:
                    pass
                continue
            if path.endswith(".pyc") and "/__pycache__/" in path:
                # Byte-code caches are made at install time and owned by no package: the module
                # is its source file.
                head, _, name = path.rpartition("/__pycache__/")
                path = f"{head}/{name.split('.')[0]}.py"
            modules.setdefault(path, "Python module imported by a test or script")
    for path, why in modules.items():
        m = site_module.match(path)
        if not (m and m.group(1) in site_imports):
            evidence.add(path, why)


def collect_declared_tools(scripts, evidence):
    for script in scripts:
        try:
            text = open(script, encoding="utf-8").read()
        except OSError as e:
            fail_usage(f"cannot read {script}: {e.strerror}")
        for m in re.finditer(r"^\s*need_tools\s+(.+)$", text, re.M):
            for tool in m.group(1).split("#")[0].split():
                path = which(tool)
                evidence.add(path or f"/nonexistent/{tool}",
                             f"tool {tool} declared by {os.path.relpath(script)}"
                             + ("" if path else " (not found on PATH)"))


# --- Mapping to packages ---------------------------------------------------------------------------

def usr_alias(path):
    parts = path.split("/")
    if len(parts) > 2 and parts[1] == "usr" and parts[2] in MERGED_USR_DIRS:
        return "/" + "/".join(parts[2:])
    if len(parts) > 1 and parts[1] in MERGED_USR_DIRS:
        return "/usr" + path
    return None


def candidates(path):
    """Names to look up for a path: as named, then its real path; each with its /usr alias."""
    named = [path] + [a for a in [usr_alias(path)] if a]
    real = os.path.realpath(path)
    resolved = [] if real == path else [real] + [a for a in [usr_alias(real)] if a]
    # A symlink in a directory that is itself a symlink: the real directory plus the name.
    parent_real = os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
    if parent_real not in (path, real):
        named += [parent_real] + [a for a in [usr_alias(parent_real)] if a]
    return named, resolved


def dpkg_owners(paths):
    """dpkg -S for many literal paths in batches: path -> [packages]."""
    owners = {}
    paths = sorted(set(paths))
    for i in range(0, len(paths), 500):
        batch = paths[i:i + 500]
        out = run(["dpkg", "-S", "--"] + batch).stdout
        for line in out.splitlines():
            pkgs, sep, path = line.partition(": ")
            if not sep or path not in batch:
                continue
            if pkgs.startswith("diversion by"):
                continue
            owners.setdefault(path, []).extend(p.strip().split(":")[0] for p in pkgs.split(","))
    return owners


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", required=True, help="the install list (scripts/packages.txt)")
    parser.add_argument("--build-dir", action="append", default=[], help="a configured and built build directory")
    parser.add_argument("--trace", action="append", default=[], help="an strace log of tests or scripts")
    parser.add_argument("--declared-tools", nargs="*", default=[], help="scripts with need_tools lines")
    parser.add_argument("--verbose", action="store_true", help="list every file of a missing package")
    parser.add_argument("--own-dir", action="append", default=[],
                        help="a directory whose files are the project's own (repeatable)")
    args = parser.parse_args()

    listed = read_package_list(args.packages)
    dpkg = InstalledPackages()
    not_installed = [p for p in listed if not dpkg.installed(p)]
    if not_installed:
        fail_usage(f"listed in {args.packages} but not installed: {' '.join(not_installed)}; "
                   "run scripts/install-deps.sh first")

    tmp_dirs = {"/tmp", "/var/tmp", os.environ.get("TMPDIR", "/tmp")}
    evidence = Evidence(args.own_dir + args.build_dir + sorted(tmp_dirs))
    for build_dir in args.build_dir:
        collect_build(build_dir, evidence)
    for trace in args.trace:
        collect_trace(trace, evidence)
    collect_declared_tools(args.declared_tools, evidence)

    lookups = {}
    for path in evidence.why:
        lookups[path] = candidates(path)
    owners = dpkg_owners(n for named, real in lookups.values() for n in named + real)

    from_list = dpkg.closure(listed)
    provided = from_list | dpkg.closure(dpkg.base)
    unowned = []                  # (path, why)
    missing = defaultdict(list)   # package -> [(path, why)]
    used_packages = set()
    for path in sorted(evidence.why):
        why = evidence.why[path]
        named, real = lookups[path]
        named_owners = next((owners[n] for n in named if n in owners), None)
        real_owners = next((owners[n] for n in real if n in owners), None)
        if named_owners is None and real_owners is None:
            unowned.append((path, why))
            continue
        for found in (named_owners, real_owners):
            if found is None:
                continue
            if any(p in provided for p in found):
                used_packages.update(p for p in found if p in provided)
            else:
                missing[found[0]].append((path, why))

    if missing or unowned:
        for package, files in sorted(missing.items()):
            print(f"check-packages: MISSING PACKAGE {package}: add it to {args.packages} "
                  f"(neither listed nor a dependency of a listed package); {len(files)} file(s) need it:")
            shown = files if args.verbose else files[:5]
            for path, why in shown:
                print(f"  {path} [{package}]: {why}")
            if len(files) > len(shown):
                print(f"  ... and {len(files) - len(shown)} more (--verbose lists them)")
        for path, why in unowned:
            print(f"check-packages: {path}: no Debian package provides it (dpkg -S finds nothing for "
                  f"it, its real path or their /usr aliases); needed as: {why}. Use a file from a "
                  f"Debian package and list that package.")
        return 1
    unused = [p for p in listed if not dpkg.closure([p]) & used_packages]
    if unused:
        print(f"check-packages: note: nothing used comes from these listed packages or their "
              f"dependencies: {' '.join(unused)}")
    print(f"check-packages: {len(evidence.why)} files used by the build, tests and scripts, from "
          f"{len(used_packages)} packages, all provided by {args.packages} ({len(listed)} listed, "
          f"{len(from_list)} with their dependencies) or Debian's required packages.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
