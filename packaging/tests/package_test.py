#!/usr/bin/env python3
"""ctest package_deb: build the Debian packages of a build tree and use them.

1. `cpack -G DEB` in the build directory; each .deb must hold its files (dpkg-deb -c) and
   its control data (dpkg-deb -I: Depends, the conffile, shlibs).
2. Install them: with `dpkg -i` into this system when running as root and none of them
   (nor stray files at their paths) is there yet, else with `dpkg -x` into a scratch root.
3. Use the installed files: `sharedisk-target --config /etc/sharedisk/lun.yaml --check`;
   the installed unit's ExecStart and ExecReload command lines (on a loopback port and a
   scratch run directory): READY=1 on $NOTIFY_SOCKET, a reload that succeeds, a reload of a
   broken file that fails with exit 1 while the daemon keeps serving, SIGTERM -> exit 0;
   examples/ocfs2-consumer (the copy in the -dev package) built with find_package and with
   pkg-config against the installed library, and run.
4. `dpkg --purge` everything it installed and check that nothing is left: no package, no
   file, no running daemon of the installed binary.
Every step is bounded in time.
"""
import argparse
import fcntl
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

PACKAGES = ["sharedisk-target", "libsharedisk-ocfs2", "libsharedisk-ocfs2-dev",
            "sharedisk-ocfs2", "sharedisk-bench"]


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def run(cmd, timeout=120, check=True, env=None, cwd=None, **kw):
    print("+ " + " ".join(cmd), flush=True)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout, env=env, cwd=cwd, **kw)
    if check and r.returncode != 0:
        fail("%s exited %d\n%s\n%s" % (" ".join(cmd), r.returncode, r.stdout, r.stderr))
    return r


def expected_files(libdir, version):
    doc = "./usr/share/doc/%s/copyright"
    lib = "./usr/%s/" % libdir
    return {
        "sharedisk-target": [
            "./usr/sbin/sharedisk-target", "./lib/systemd/system/sharedisk-target.service",
            "./etc/sharedisk/lun.yaml", "./usr/share/man/man8/sharedisk-target.8",
            "./usr/share/man/man5/lun.yaml.5", doc % "sharedisk-target"],
        "libsharedisk-ocfs2": [
            lib + "libsharedisk-ocfs2.so.0", lib + "libsharedisk-ocfs2.so." + version,
            doc % "libsharedisk-ocfs2"],
        "libsharedisk-ocfs2-dev": [
            "./usr/include/sharedisk/ocfs2/ocfs2.h", "./usr/include/sharedisk/ocfs2/version.h",
            lib + "libsharedisk-ocfs2.so",
            lib + "cmake/sharedisk-ocfs2/sharedisk-ocfs2-config.cmake",
            lib + "cmake/sharedisk-ocfs2/sharedisk-ocfs2-config-version.cmake",
            lib + "cmake/sharedisk-ocfs2/sharedisk-ocfs2-targets.cmake",
            lib + "pkgconfig/sharedisk-ocfs2.pc",
            "./usr/share/doc/libsharedisk-ocfs2-dev/examples/ocfs2-consumer/CMakeLists.txt",
            doc % "libsharedisk-ocfs2-dev"],
        "sharedisk-ocfs2": [
            "./usr/sbin/sharedisk-ocfs2", "./usr/share/man/man8/sharedisk-ocfs2.8",
            doc % "sharedisk-ocfs2"],
        "sharedisk-bench": [
            "./usr/bin/sharedisk-bench", "./usr/share/man/man1/sharedisk-bench.1",
            "./usr/share/sharedisk-bench/jobs/4k-randread-qd32.fio", doc % "sharedisk-bench"],
    }


def inspect(debs, libdir, version):
    """Checks the contents and control data of every package; returns {package: deb}."""
    by_name = {}
    for deb in debs:
        name = run(["dpkg-deb", "-f", deb, "Package"]).stdout.strip()
        by_name[name] = deb
    if sorted(by_name) != sorted(PACKAGES):
        fail("packages built: %s, expected %s" % (sorted(by_name), sorted(PACKAGES)))
    for name, files in expected_files(libdir, version).items():
        listing = run(["dpkg-deb", "-c", by_name[name]]).stdout
        paths = {line.split()[5] for line in listing.splitlines() if len(line.split()) >= 6}
        for f in files:
            if f not in paths:
                fail("%s does not contain %s; it has:\n%s" % (name, f, listing))
        print("%s: %d entries, the %d expected ones present" % (name, len(paths), len(files)))
    info = {n: run(["dpkg-deb", "-I", d]).stdout for n, d in by_name.items()}
    field = lambda n, f: run(["dpkg-deb", "-f", by_name[n], f]).stdout.strip()
    if "conffiles" not in info["sharedisk-target"]:
        fail("sharedisk-target has no conffiles:\n" + info["sharedisk-target"])
    with tempfile.TemporaryDirectory() as ctrl:
        run(["dpkg-deb", "-e", by_name["sharedisk-target"], ctrl])
        if open(os.path.join(ctrl, "conffiles")).read().split() != ["/etc/sharedisk/lun.yaml"]:
            fail("sharedisk-target conffiles is not /etc/sharedisk/lun.yaml")
        # Installing never enables or starts the service; removing stops it.
        postinst = "\n".join(l for l in open(os.path.join(ctrl, "postinst")).read().splitlines()
                             if not l.lstrip().startswith("#"))
        if re.search(r"systemctl\s+(enable|start|restart|try-restart)", postinst):
            fail("sharedisk-target postinst enables or starts the service:\n" + postinst)
        if "systemctl stop sharedisk-target" not in open(os.path.join(ctrl, "prerm")).read():
            fail("sharedisk-target prerm does not stop the service")
        run(["dpkg-deb", "-e", by_name["libsharedisk-ocfs2"], ctrl + "/lib"])
        shlibs = open(os.path.join(ctrl, "lib", "shlibs")).read()
        if not re.search(r"^libsharedisk-ocfs2 0 libsharedisk-ocfs2 ", shlibs, re.M):
            fail("libsharedisk-ocfs2 shlibs: " + shlibs)
    # Depends computed by dpkg-shlibdeps (or from component dependencies).
    wants = {
        "sharedisk-target": ["libc6", "libstdc++6", "libaio1", "libyaml-cpp", "libssl3"],
        "libsharedisk-ocfs2": ["libc6", "libstdc++6"],
        "libsharedisk-ocfs2-dev": ["libsharedisk-ocfs2 (= %s" % version],
        "sharedisk-ocfs2": ["libsharedisk-ocfs2", "libc6"],
        "sharedisk-bench": ["libiscsi", "libc6"],
    }
    for name, deps in wants.items():
        depends = field(name, "Depends")
        for d in deps:
            if d not in depends:
                fail("%s Depends lacks %s: %s" % (name, d, depends))
        print("%s Depends: %s" % (name, depends))
    return by_name


def installed(package):
    r = subprocess.run(["dpkg-query", "-W", "-f", "${db:Status-Status}", package],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return r.returncode == 0 and r.stdout.strip() not in ("", "not-installed", "config-files")


def dpkg(args, timeout=180):
    """dpkg with its lock: waits (bounded) while apt or dpkg of someone else holds it."""
    deadline = time.monotonic() + timeout
    while True:
        r = run(["dpkg"] + args, timeout=timeout, check=False)
        if r.returncode == 0:
            return r
        locked = "lock" in r.stderr and ("locked" in r.stderr or "held" in r.stderr)
        if not locked or time.monotonic() > deadline:
            fail("dpkg %s exited %d\n%s\n%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
        time.sleep(2)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def daemons_of(binary):
    """PIDs of running processes whose executable is `binary`."""
    pids = []
    for p in glob.glob("/proc/[0-9]*/exe"):
        try:
            exe = os.readlink(p)
        except OSError:
            continue
        if exe == binary or exe == binary + " (deleted)":
            pids.append(int(p.split("/")[2]))
    return pids


def unit_commands(unit_text, key):
    lines = [l.split("=", 1)[1] for l in unit_text.splitlines() if l.startswith(key + "=")]
    if len(lines) != 1:
        fail("the unit has %d %s= lines" % (len(lines), key))
    return lines[0].split()


def exercise_unit(root, env, work):
    """Runs the installed unit's ExecStart and ExecReload command lines as systemd would."""
    unit_path = os.path.join(root, "lib/systemd/system/sharedisk-target.service")
    unit = open(unit_path).read()
    for line in ["Type=notify", "Conflicts=tgt.service", "RestartPreventExitStatus=2"]:
        if line not in unit.splitlines():
            fail("the installed unit lacks " + line)
    start, reload_cmd = unit_commands(unit, "ExecStart"), unit_commands(unit, "ExecReload")
    if reload_cmd[:2] != ["/usr/sbin/sharedisk-target", "reload"]:
        fail("ExecReload is not `sharedisk-target reload`: " + " ".join(reload_cmd))
    # The packaged configuration on a free loopback port, with scratch state and run dirs.
    rundir = os.path.join(work, "run")
    os.makedirs(os.path.join(rundir, "sharedisk"))
    config = os.path.join(work, "lun.yaml")
    text = open(os.path.join(root, "etc/sharedisk/lun.yaml")).read()
    port = free_port()
    text = text.replace("127.0.0.1:3260", "127.0.0.1:%d" % port)
    text = re.sub(r"^state_dir: .*$", "state_dir: " + os.path.join(work, "state"), text,
                  flags=re.M)
    open(config, "w").write(text)

    def concrete(cmd):
        out = []
        for a in cmd:
            a = a.replace("%t", rundir).replace("/etc/sharedisk/lun.yaml", config)
            out.append(os.path.join(root, a.lstrip("/")) if a == "/usr/sbin/sharedisk-target"
                       else a)
        return out

    run(concrete(start) + ["--check"], timeout=30, env=env)
    # A bad file: exit 2 (RestartPreventExitStatus) naming file, line and key.
    bad = os.path.join(work, "bad.yaml")
    open(bad, "w").write(text.replace("    alias:", "    alais:"))
    r = run([a if a != config else bad for a in concrete(start)], timeout=30, env=env,
            check=False)
    if r.returncode != 2 or "bad.yaml:" not in r.stderr or "alais" not in r.stderr:
        fail("ExecStart with a bad file: exit %d (want 2), stderr %r" % (r.returncode, r.stderr))
    print("bad file: " + r.stderr.strip())
    notify_path = os.path.join(work, "notify.sock")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    notify.settimeout(1.0)
    denv = dict(env, NOTIFY_SOCKET=notify_path)
    print("+ " + " ".join(concrete(start)), flush=True)
    log = open(os.path.join(work, "daemon.log"), "w")
    daemon = subprocess.Popen(concrete(start), env=denv, stdout=log, stderr=subprocess.STDOUT)
    try:
        def wait_for(word, seconds):
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                if daemon.poll() is not None:
                    fail("the daemon exited %d:\n%s" % (daemon.returncode,
                                                         open(log.name).read()))
                try:
                    msg = notify.recv(4096).decode()
                except socket.timeout:
                    continue
                print("notify: " + msg.replace("\n", " | "))
                if word in msg.split("\n"):
                    return
            fail("no %s from the daemon in %d s" % (word, seconds))

        wait_for("READY=1", 30)
        r = run(concrete(reload_cmd), timeout=70, env=env, check=False)
        if r.returncode != 0:
            fail("ExecReload of an unchanged file exited %d: %s" % (r.returncode, r.stderr))
        wait_for("READY=1", 10)
        open(config, "a").write("bogus_key: 1\n")
        r = run(concrete(reload_cmd), timeout=70, env=env, check=False)
        if r.returncode != 1 or "bogus_key" not in r.stderr:
            fail("ExecReload of a broken file: exit %d (want 1), stderr %r" %
                 (r.returncode, r.stderr))
        print("refused reload: " + r.stderr.strip())
        if daemon.poll() is not None:
            fail("the daemon stopped after a refused reload")
        daemon.send_signal(signal.SIGTERM)
        rc = daemon.wait(timeout=45)
        if rc != 0:
            fail("the daemon exited %d after SIGTERM:\n%s" % (rc, open(log.name).read()))
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        notify.close()
        log.close()


def build_consumer(root, real, generator, work, libdir):
    example = os.path.join(
        root, "usr/share/doc/libsharedisk-ocfs2-dev/examples/ocfs2-consumer")
    env = dict(os.environ)
    env.pop("PKG_CONFIG_PATH", None)
    env.pop("CMAKE_PREFIX_PATH", None)
    extra = ["-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF"]
    if not real:
        extra.append("-DCMAKE_PREFIX_PATH=" + os.path.join(root, "usr"))
        env["PKG_CONFIG_PATH"] = os.path.join(root, "usr", libdir, "pkgconfig")
        env["PKG_CONFIG_SYSROOT_DIR"] = root
        env["LD_LIBRARY_PATH"] = os.path.join(root, "usr", libdir)
    for mode, pc in (("find_package", "OFF"), ("pkg-config", "ON")):
        build = os.path.join(work, "consumer-" + mode)
        run(["cmake", "-S", example, "-B", build, "-G", generator, "-DCMAKE_BUILD_TYPE=Release",
             "-DCONSUMER_USE_PKGCONFIG=" + pc] + extra, env=env)
        cache = open(os.path.join(build, "CMakeCache.txt")).read()
        if mode == "find_package":
            m = re.search(r"^sharedisk-ocfs2_DIR:PATH=(.*)$", cache, re.M)
            want = os.path.join(root, "usr", libdir, "cmake/sharedisk-ocfs2")
            if not m or os.path.realpath(m.group(1)) != os.path.realpath(want):
                fail("find_package found %s, not %s" % (m.group(1) if m else None, want))
        run(["cmake", "--build", build], timeout=300, env=env)
        out = run([os.path.join(build, "ocfs2-consumer")], env=env).stdout
        if "fstab-ready cluster ocfs2 with 2 nodes" not in out:
            fail("unexpected output of the %s consumer: %r" % (mode, out))
        if real:
            ldd = run(["ldd", os.path.join(build, "ocfs2-consumer")]).stdout
            m = re.search(r"libsharedisk-ocfs2\.so\.0 => (\S+)", ldd)
            want = "/usr/%s/libsharedisk-ocfs2.so.0" % libdir
            # /lib is /usr/lib on a merged-/usr system: compare the files, not the names.
            if not m or os.path.realpath(m.group(1)) != os.path.realpath(want):
                fail("the consumer does not load the installed library:\n" + ldd)
        print("%s consumer: %s" % (mode, out.strip()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--cpack", required=True)
    ap.add_argument("--generator", required=True)
    ap.add_argument("--libdir", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--work-dir", required=True)
    ap.add_argument("--extract-only", action="store_true",
                    help="never install into this system (dpkg -x into a scratch root)")
    a = ap.parse_args()
    a.build_dir, a.work_dir = os.path.abspath(a.build_dir), os.path.abspath(a.work_dir)

    shutil.rmtree(a.work_dir, ignore_errors=True)
    os.makedirs(a.work_dir)
    pkgdir = os.path.join(a.build_dir, "packages")
    shutil.rmtree(pkgdir, ignore_errors=True)
    run([a.cpack, "-G", "DEB", "--config", os.path.join(a.build_dir, "CPackConfig.cmake")],
        timeout=420, cwd=a.build_dir)
    debs = sorted(glob.glob(os.path.join(pkgdir, "*.deb")))
    for d in debs:
        print("%10d %s" % (os.path.getsize(d), os.path.basename(d)))
    by_name = inspect(debs, a.libdir, a.version)

    # One run at a time on this machine: the lock covers the check, install and purge.
    lock = open("/tmp/sharedisk-package-test.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    all_files = [f.lstrip(".") for fs in expected_files(a.libdir, a.version).values()
                 for f in fs]
    present = [p for p in PACKAGES if installed(p)] + [f for f in all_files if os.path.lexists(f)]
    real = os.geteuid() == 0 and not present and not a.extract_only
    etc_existed = os.path.exists("/etc/sharedisk")
    if not real:
        print("installing into a scratch root (dpkg -x): " +
              ("not root" if os.geteuid() != 0 else
               "already on this system: %s" % present if present else "--extract-only"))
    root = "/" if real else os.path.join(a.work_dir, "root")
    env = dict(os.environ)
    env.pop("LD_LIBRARY_PATH", None)
    installed_now = False
    try:
        if real:
            installed_now = True
            dpkg(["-i"] + [by_name[p] for p in PACKAGES])
            for p in PACKAGES:
                if not installed(p):
                    fail(p + " is not installed after dpkg -i")
            # The installed unit as systemd reads it: syntax, commands, Documentation= pages.
            if shutil.which("systemd-analyze"):
                unit = "/lib/systemd/system/sharedisk-target.service"
                r = run(["systemd-analyze", "verify", unit], timeout=60, check=False)
                out = (r.stdout + r.stderr).strip()
                if r.returncode != 0 or "sharedisk-target.service" in out:
                    fail("systemd-analyze verify %s: exit %d\n%s" % (unit, r.returncode, out))
                print("systemd-analyze verify: clean")
            man = run(["man", "-w", "sharedisk-target"]).stdout.strip()
            if not man.startswith("/usr/share/man/man8/sharedisk-target.8"):
                fail("man -w sharedisk-target: " + man)
        else:
            for p in PACKAGES:
                run(["dpkg-deb", "-x", by_name[p], root])
            env["LD_LIBRARY_PATH"] = os.path.join(root, "usr", a.libdir)
        target = os.path.join(root, "usr/sbin/sharedisk-target")
        r = run([target, "--config", os.path.join(root, "etc/sharedisk/lun.yaml"), "--check"],
                env=env)
        if "configuration OK" not in r.stdout:
            fail("--check said: " + r.stdout)
        print(r.stdout.strip())
        for tool in ("usr/sbin/sharedisk-ocfs2", "usr/bin/sharedisk-bench"):
            r = run([os.path.join(root, tool), "--version"], env=env)
            if a.version not in r.stdout:
                fail("%s --version: %r" % (tool, r.stdout))
        exercise_unit(root, env, a.work_dir)
        build_consumer(root, real, a.generator, a.work_dir, a.libdir)
        if daemons_of(target):
            fail("a daemon of %s is still running" % target)
    finally:
        if installed_now:
            dpkg(["--purge"] + PACKAGES)
    if real:
        left = [p for p in PACKAGES if installed(p)] + \
            [f for f in all_files if os.path.lexists(f)]
        if os.path.exists("/etc/sharedisk") and not etc_existed:
            left.append("/etc/sharedisk")
        if left:
            fail("left on the system after dpkg --purge: %s" % left)
        print("purged: no package, file or daemon left")
    print("PASS")


if __name__ == "__main__":
    main()
