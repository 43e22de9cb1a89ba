#!/usr/bin/env python3
"""Multi-host faults for a four-validator consortium (Docs/operations.md, "Partition test"; `make test-netns`).

Each validator runs in its own network namespace with its own address, joined by a bridge in a fifth namespace,
so its traffic crosses a real kernel network: veth pairs, a bridge, routes, netfilter. Nothing outside the
namespaces this script makes is touched. The phases:

  1. cut one node off (its bridge port down): the other three keep committing;
  2. heal: the isolated node catches up;
  3. split 2/2 (nftables in the nodes' namespaces drop the other side's packets): nobody commits, nobody forks;
  4. heal: commits resume within a bound;
  5. 200 ms one-way latency and 5% loss on every link: commits go on, slower;
  6. heal: commits go on.
Throughout: every height any two nodes have is the same block (safety), checked at the end over every height.

Latency and loss use `tc netem` where the kernel has it. This machine's kernel has no netem qdisc, so the script
falls back, saying so: the loss is nftables' `numgen random` dropping 5% of packets a node receives, and the delay is
200 ms added by the relay every peer connection crosses in the bridge namespace (each node dials its peers at relay
addresses; the relay connects on from the dialing node's own relay address, so the nftables partition rules see
who is talking). The relay adds nothing outside phase 5.

Run as root: scripts/netns_partition.py BINARY. Exit 0 when every check passes or when namespaces cannot be made
here (it prints SKIP and why); 1 when a check fails (the nodes' logs are kept and named).
"""
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

# The driver, re-run inside the bridge namespace, gets the names of the namespaces from its parent.
SUFFIX = os.environ.get("TWINLEDGER_NETNS_SUFFIX") or str(os.getpid() % 100000)
BRIDGE_NS = "tlbr" + SUFFIX
NODE_NS = ["tln%d-%s" % (i, SUFFIX) for i in range(4)]
NODE_IP = ["10.77.0.%d" % (10 + i) for i in range(4)]
RELAY_IP = ["10.77.0.%d" % (20 + i) for i in range(4)]
API_PORT, P2P_PORT = 26657, 26656
N = 4


def run(*args, check=True, quiet=False):
    result = subprocess.run(list(args), capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(args), (result.stderr or result.stdout).strip()))
    return result


def log(message):
    print("netns: " + message, flush=True)


# --- set-up and tear-down (in the root namespace) ------------------------------------------------------------------
def teardown():
    for ns in NODE_NS + [BRIDGE_NS]:
        subprocess.run(["ip", "netns", "pids", ns], capture_output=True)
        pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
        for pid in pids:
            subprocess.run(["kill", "-9", pid], capture_output=True)
        subprocess.run(["ip", "netns", "delete", ns], capture_output=True)


def setup():
    run("ip", "netns", "add", BRIDGE_NS)
    run("ip", "-n", BRIDGE_NS, "link", "set", "lo", "up")
    run("ip", "-n", BRIDGE_NS, "link", "add", "br0", "type", "bridge")
    run("ip", "-n", BRIDGE_NS, "addr", "add", "10.77.0.1/24", "dev", "br0")
    for ip in RELAY_IP:
        run("ip", "-n", BRIDGE_NS, "addr", "add", ip + "/24", "dev", "br0")
    run("ip", "-n", BRIDGE_NS, "link", "set", "br0", "up")
    for i, ns in enumerate(NODE_NS):
        run("ip", "netns", "add", ns)
        run("ip", "-n", ns, "link", "set", "lo", "up")
        run("ip", "link", "add", "vb%d" % i, "netns", BRIDGE_NS, "type", "veth", "peer", "name", "eth0", "netns", ns)
        run("ip", "-n", BRIDGE_NS, "link", "set", "vb%d" % i, "master", "br0")
        run("ip", "-n", BRIDGE_NS, "link", "set", "vb%d" % i, "up")
        run("ip", "-n", ns, "addr", "add", NODE_IP[i] + "/24", "dev", "eth0")
        run("ip", "-n", ns, "link", "set", "eth0", "up")


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "--driver":
        sys.exit(Driver(sys.argv[2], sys.argv[3]).run())
    if len(sys.argv) != 2:
        print("usage: scripts/netns_partition.py BINARY", file=sys.stderr)
        sys.exit(2)
    binary = os.path.abspath(sys.argv[1])
    if os.geteuid() != 0:
        log("SKIP: network namespaces need root (run make test-netns as root)")
        return 0
    if not shutil.which("ip"):
        log("SKIP: no `ip` command (iproute2)")
        return 0
    probe = subprocess.run(["ip", "netns", "add", "tlprobe" + SUFFIX], capture_output=True, text=True)
    if probe.returncode != 0:
        log("SKIP: network namespaces cannot be made here: " + probe.stderr.strip())
        return 0
    subprocess.run(["ip", "netns", "delete", "tlprobe" + SUFFIX], capture_output=True)
    work = tempfile.mkdtemp(prefix="twinledger-netns-")
    status = 1
    try:
        setup()
        # The driver runs inside the bridge namespace: it reaches every node's API at its own address, and hosts
        # the relay.
        status = subprocess.run(["ip", "netns", "exec", BRIDGE_NS, sys.executable, os.path.abspath(__file__),
                                 "--driver", binary, work], env=dict(os.environ, TWINLEDGER_NETNS_SUFFIX=SUFFIX)).returncode
    finally:
        teardown()
        if status == 0:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log("FAILED; the nodes' logs are in " + work)
    return status


# --- the relay (in the bridge namespace) ---------------------------------------------------------------------------
class Relay:
    """Forwards each node's connections to a peer's relay address on to that peer, from the dialing node's own relay
    address, delaying every chunk by `delay` seconds (in order) when set."""

    def __init__(self):
        self.delay = 0.0
        self.delayed = 0  # chunks held back by a delay
        self.loop = asyncio.new_event_loop()
        self.servers = []

    def start(self):
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        for target in range(N):
            future = asyncio.run_coroutine_threadsafe(
                asyncio.start_server(lambda r, w, t=target: self.connection(r, w, t), RELAY_IP[target], P2P_PORT), self.loop)
            self.servers.append(future.result(10))

    async def connection(self, reader, writer, target):
        upstream = None
        try:
            source = writer.get_extra_info("peername")[0]
            if source not in NODE_IP:
                return
            dialer = NODE_IP.index(source)
            up_reader, upstream = await asyncio.wait_for(asyncio.open_connection(
                NODE_IP[target], P2P_PORT, local_addr=(RELAY_IP[dialer], 0)), 10)
            await asyncio.gather(self.pump(reader, upstream), self.pump(up_reader, writer))
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            for w in (writer, upstream):
                if w is not None:
                    w.close()

    async def pump(self, reader, writer):
        queue = asyncio.Queue()

        async def drain():
            try:
                while True:
                    due, data = await queue.get()
                    if data is None:
                        break
                    wait = due - self.loop.time()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    writer.write(data)
                    await writer.drain()
            except OSError:
                pass
            finally:
                writer.close()

        task = asyncio.ensure_future(drain())
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                if self.delay > 0:
                    self.delayed += 1
                await queue.put((self.loop.time() + self.delay, data))
        except OSError:
            pass
        await queue.put((0, None))
        await task


# --- the driver (in the bridge namespace) --------------------------------------------------------------------------
class Failure(Exception):
    pass


class Driver:
    def __init__(self, binary, work):
        self.binary, self.work = binary, work
        self.processes = []
        self.relay = Relay()
        self.results = {}

    def api(self, i, path, timeout=2.0):
        with urllib.request.urlopen("http://%s:%d%s" % (NODE_IP[i], API_PORT, path), timeout=timeout) as response:
            return json.loads(response.read())

    def height(self, i):
        try:
            return self.api(i, "/health")["height"]
        except Exception:
            return None

    def heights(self, nodes=range(N)):
        return {i: self.height(i) for i in nodes}

    def wait(self, what, nodes, predicate, seconds):
        """Waits until predicate(heights of nodes) holds; returns the seconds it took."""
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            heights = self.heights(nodes)
            if all(h is not None for h in heights.values()) and predicate(heights):
                return time.monotonic() - start
            time.sleep(0.25)
        raise Failure("%s: not within %d s (heights %s)" % (what, seconds, self.heights()))

    def make_consortium(self):
        nodes = [{"name": "n%d" % i, "organization": "ORG_%d" % i, "role": "validator", "host": NODE_IP[i],
                  "advertise": RELAY_IP[i], "api_port": API_PORT, "p2p_port": P2P_PORT} for i in range(N)]
        definition = os.path.join(self.work, "definition.json")
        with open(definition, "w") as handle:
            json.dump({"chain_id": "twinledger-netns", "nodes": nodes}, handle)
        run(self.binary, "net", "init", "--definition", definition, "--home", os.path.join(self.work, "net"))

    def start_nodes(self):
        for i in range(N):
            handle = open(os.path.join(self.work, "n%d.log" % i), "ab")
            self.processes.append(subprocess.Popen(
                ["ip", "netns", "exec", NODE_NS[i], self.binary, "node", "start", "--home",
                 os.path.join(self.work, "net", "n%d" % i), "--log-level", "info"], stdout=handle, stderr=handle))

    def nft(self, i, *rules):
        """Replaces the `twinledger` nftables table in node i's namespace with `rules` on its input and output."""
        subprocess.run(["ip", "netns", "exec", NODE_NS[i], "nft", "delete", "table", "inet", "twinledger"], capture_output=True)
        if not rules:
            return
        script = "table inet twinledger {\n chain input { type filter hook input priority 0; policy accept;\n"
        script += "".join("  %s\n" % r for r in rules if r.startswith("in:")).replace("in:", "")
        script += " }\n chain output { type filter hook output priority 0; policy accept;\n"
        script += "".join("  %s\n" % r for r in rules if r.startswith("out:")).replace("out:", "")
        script += " }\n}\n"
        result = subprocess.run(["ip", "netns", "exec", NODE_NS[i], "nft", "-f", "-"], input=script, capture_output=True, text=True)
        if result.returncode != 0:
            raise Failure("nft in %s: %s" % (NODE_NS[i], result.stderr.strip()))

    def netem_available(self):
        probe = subprocess.run(["ip", "netns", "exec", NODE_NS[0], "tc", "qdisc", "add", "dev", "eth0", "root", "netem",
                                "delay", "1ms"], capture_output=True, text=True)
        if probe.returncode == 0:
            subprocess.run(["ip", "netns", "exec", NODE_NS[0], "tc", "qdisc", "del", "dev", "eth0", "root"], capture_output=True)
            return True, ""
        return False, probe.stderr.strip()

    def enroll(self, via, name):
        """A new patient enrolled by node `via`'s organization through the wallet (which waits for the commit);
        returns the key id."""
        key = os.path.join(self.work, name + ".key")
        made = json.loads(run(self.binary, "keys", "new", "--out", key, "--role", "patient", "--json").stdout)
        home = os.path.join(self.work, "net", "n%d" % via)
        environment = dict(os.environ, TWINLEDGER_NODE="http://%s:%d" % (NODE_IP[via], API_PORT))
        result = subprocess.run([self.binary, "enroll", "--key", os.path.join(home, "keys", "organization-ORG_%d.key" % via),
                                 "--key-file-to-enroll", key, "--role", "patient"], capture_output=True, text=True,
                                env=environment, timeout=120)
        if result.returncode != 0 or "accepted" not in result.stdout:
            raise Failure("enroll through n%d: %s" % (via, (result.stdout + result.stderr).strip()))
        return made["key_id"]

    def enrolled(self, i, key_id):
        try:
            return self.api(i, "/v1/accounts/" + key_id).get("participant") is not None
        except Exception:
            return False

    def dropped(self, i):
        """Packets the nftables rules of node i's namespace dropped (their counters)."""
        listing = subprocess.run(["ip", "netns", "exec", NODE_NS[i], "nft", "list", "table", "inet", "twinledger"],
                                 capture_output=True, text=True).stdout
        words = listing.split()
        return sum(int(words[k + 1]) for k, w in enumerate(words) if w == "packets" and k + 1 < len(words))

    def max_height(self, nodes=range(N)):
        return max(h for h in self.heights(nodes).values() if h is not None)

    def phase(self, name, function):
        log("phase: " + name)
        started = time.monotonic()
        detail = function()
        self.results[name] = dict(detail or {}, seconds=round(time.monotonic() - started, 1))
        log("  ok: %s" % json.dumps(self.results[name]))

    def run(self):
        try:
            self.relay.start()
            self.make_consortium()
            self.start_nodes()
            self.phase("start", lambda: {"took_s": round(self.wait("all four reach height 3", range(N),
                                                                   lambda h: min(h.values()) >= 3, 180), 1)})
            self.phase("cut one node off", self.cut_off)
            self.phase("heal: the isolated node catches up", self.heal_cut)
            self.phase("split 2/2", self.split)
            self.phase("heal the split: commits resume", self.heal_split)
            self.phase("200 ms latency and 5% loss", self.degrade)
            self.phase("heal: latency and loss removed", self.heal_degrade)
            self.phase("safety: one block per height on every node", self.safety)
            print(json.dumps({"result": "passed", "phases": self.results}, indent=1))
            return 0
        except Exception as failure:
            log("FAILED: %s" % failure)
            print(json.dumps({"result": "failed", "failure": str(failure), "phases": self.results}, indent=1))
            return 1
        finally:
            for process in self.processes:
                process.kill()
            for process in self.processes:
                process.wait()

    def cut_off(self):
        isolated_at = self.max_height()
        run("ip", "link", "set", "vb3", "down")
        start = self.max_height(range(3))
        # A transaction committed while n3 is away: it must reach n3 by block sync.
        self.cut_off_patient = self.enroll(0, "cut-off-patient")
        took = self.wait("n0-n2 commit 5 heights without n3", range(3), lambda h: min(h.values()) >= start + 5, 90)
        behind = self.max_height(range(3))
        return {"isolated_at": isolated_at, "others_advanced_in_s": round(took, 1), "others_at": behind,
                "transaction_committed_without_n3": True}

    def heal_cut(self):
        run("ip", "link", "set", "vb3", "up")
        target = self.max_height(range(3))
        took = self.wait("n3 catches up to height %d" % target, [3], lambda h: h[3] >= target, 120)
        if not self.enrolled(3, self.cut_off_patient):
            raise Failure("n3 caught up without the enrollment committed while it was cut off")
        return {"caught_up_to": target, "caught_up_in_s": round(took, 1), "has_the_missed_transaction": True}

    def split(self):
        sides = [(0, 1), (2, 3)]
        for side, other in ((sides[0], sides[1]), (sides[1], sides[0])):
            addresses = "{ %s }" % ", ".join(RELAY_IP[j] for j in other)
            for i in side:
                self.nft(i, "in: ip saddr %s drop" % addresses, "out: ip daddr %s drop" % addresses)
        time.sleep(3)  # what was in flight lands
        frozen = self.max_height()
        time.sleep(20)
        heights = self.heights()
        if max(heights.values()) > frozen + 1:
            raise Failure("a 2/2 split committed: heights went from %d to %s" % (frozen, heights))
        self.frozen = max(heights.values())
        return {"height_during_split": self.frozen, "heights": heights}

    def heal_split(self):
        for i in range(N):
            self.nft(i)
        took = self.wait("commits resume on all four after the split", range(N), lambda h: min(h.values()) >= self.frozen + 2, 90)
        return {"resumed_in_s": round(took, 1), "bound_s": 90}

    def degrade(self):
        netem, why = self.netem_available()
        if netem:
            mode = "tc netem delay 200ms loss 5% on every node's link"
            for ns in NODE_NS:
                run("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "eth0", "root", "netem", "delay", "200ms", "loss", "5%")
        else:
            if not shutil.which("nft"):
                raise Failure("neither tc netem (%s) nor nft is available for the loss" % why)
            log("  tc netem is not available here (%s): 200 ms by the relay, 5%% loss by nftables numgen" % why)
            mode = "relay delay 200ms one way + nftables numgen 5%% input loss (no netem: %s)" % why
            self.relay.delay = 0.2
            for i in range(N):
                self.nft(i, "in: numgen random mod 100 < 5 counter drop")
        start = self.max_height()
        patient = self.enroll(1, "degraded-patient")
        time.sleep(30)
        reached = self.wait("commits go on under latency and loss", range(N), lambda h: min(h.values()) >= start + 3, 120)
        end = self.max_height()
        self.degraded = netem
        detail = {"mode": mode, "heights_per_s": round((end - start) / 30, 2), "three_heights_within_s": round(reached + 30, 1),
                  "transaction_committed": True}
        if not netem:
            detail["relay_chunks_delayed"] = self.relay.delayed
            detail["packets_dropped"] = sum(self.dropped(i) for i in range(N))
            if self.relay.delayed == 0 or detail["packets_dropped"] == 0:
                raise Failure("the faults were not applied: %s" % detail)
        self.degraded_patient = patient
        return detail

    def heal_degrade(self):
        if self.degraded:
            for ns in NODE_NS:
                run("ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", "eth0", "root")
        else:
            self.relay.delay = 0.0
            for i in range(N):
                self.nft(i)
        start = self.max_height()
        took = self.wait("commits go on after healing", range(N), lambda h: min(h.values()) >= start + 3, 90)
        time.sleep(15)
        rate = (self.max_height() - start) / (15 + took)
        if not all(self.enrolled(i, self.degraded_patient) for i in range(N)):
            raise Failure("the enrollment committed under latency and loss is missing on a node")
        return {"three_heights_in_s": round(took, 1), "heights_per_s": round(rate, 2)}

    def safety(self):
        top = min(self.heights().values())
        for height in range(1, top + 1):
            hashes = set()
            for i in range(N):
                block = self.api(i, "/v1/blocks/%d" % height)
                hashes.add((block["header"]["hash"], block["header"]["state_root"]))
            if len(hashes) != 1:
                raise Failure("height %d differs between nodes: %s" % (height, hashes))
        return {"heights_checked": top}


if __name__ == "__main__":
    sys.exit(main())
