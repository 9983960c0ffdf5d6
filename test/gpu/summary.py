#!/usr/bin/env python3
"""The short table test/gpu/run.sh prints last, read from the logs it left in OUT.

  python3 test/gpu/summary.py OUT

Checks: ops.log (backend_ops_test), e2e-*.log (engine_core_test on fresh GPU fixtures), each a SUMMARY line.
Benchmark: bench.jsonl (bench_core and bench_torch.py JSON lines). Exit code 1 if a check failed or is missing.
"""
import glob
import json
import os
import sys

FP32_BOUND, BF16_BOUND = 1e-3, 1e-2


def summary_of(path):
    if not os.path.exists(path):
        return None, ['missing']
    fails, summary = [], None
    with open(path, errors='replace') as f:
        for line in f:
            if line.startswith('FAIL '):
                fails.append(line[5:].strip())
            elif line.startswith('SUMMARY '):
                summary = json.loads(line[len('SUMMARY '):])
    return summary, fails


def main():
    out = sys.argv[1]
    ok = True
    rows = []
    s, fails = summary_of(os.path.join(out, 'ops.log'))
    if s is None or s['failed'] or not s['backends']:
        ok = False
    rows.append(('ops: CUDA tables vs CPU reference', 'no SUMMARY (crashed or timed out)' if s is None else
                 f"{s['passed']} passed, {s['failed']} failed; {', '.join(s['backends']) or 'NO CUDA BACKEND'}; "
                 f"seed {s.get('seed')}", fails))
    e2e = sorted(glob.glob(os.path.join(out, 'e2e-*.log')))
    if not e2e:
        ok = False
        rows.append(('e2e vs PyTorch', 'not run (see errors.log)', []))
    for path in e2e:
        tag = os.path.basename(path)[4:-4]
        s, fails = summary_of(path)
        if s is None:
            ok = False
            rows.append((f'e2e vs PyTorch ({tag})', 'no SUMMARY (crashed or timed out)', fails))
            continue
        within = s['worstFixtureRelL2'] <= FP32_BOUND and s['worstBf16RelL2'] <= BF16_BOUND
        ok = ok and within and not s['failed'] and s['backend'] == 'cuda'
        rows.append((f'e2e vs PyTorch ({tag})', f"{s['passed']} passed, {s['failed']} failed; fp32 worst "
                     f"{s['worstFixtureRelL2']:.1e} (<= {FP32_BOUND:g}), bf16 worst {s['worstBf16RelL2']:.1e} "
                     f"(<= {BF16_BOUND:g}); backend {s['backend']}", fails))

    oom_path = os.path.join(out, 'oom.jsonl')
    oom = None
    if os.path.exists(oom_path):
        with open(oom_path) as f:
            lines = [line for line in f if line.startswith('{')]
        oom = json.loads(lines[-1]) if lines else None
    ok = ok and bool(oom and oom['ok'])
    rows.append(('out of device memory', 'no result (crashed or timed out)' if not oom else
                 f"{'ok' if oom['ok'] else 'WRONG'}: chunk {oom['patches']} with {oom['left_mb']} MiB left -> "
                 f"\"{oom['message']}\"; model unchanged: {oom['model_unchanged']}; chunk 0 chose "
                 f"{oom['auto_chunk']} and trained: {oom['auto_trained']}" +
                 (f"; {oom['error']}" if oom['error'] else ''), []))

    bench = []
    path = os.path.join(out, 'bench.jsonl')
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith('{'):
                    try:
                        bench.append(json.loads(line))
                    except json.JSONDecodeError:
                        pass
    peak = next((b['tflops'] for b in bench if b.get('mode') == 'matmul'), None)

    print('\n==== GPU check (test/gpu/run.sh) ====')
    for name, text, fails in rows:
        print(f'{name:40s} {text}')
        for f in fails[:8]:
            print(f'    FAIL {f}')
        if len(fails) > 8:
            print(f'    ... {len(fails) - 8} more FAIL lines in the log')
    if peak:
        print(f"{'bf16 matmul rate (PyTorch, 8192^3)':40s} {peak} TFLOP/s")
    for model in ('vit_small', 'vit_base'):
        eng = next((b for b in bench if b.get('mode') == 'train' and b.get('model') == model and 'backend' in b), None)
        if not eng:
            print(f'{model + " train (img/s)":40s} engine: missing')
            continue
        cells = [f"engine {eng['backend']} {eng['images_per_s']:.0f}"]
        for how in ('eager', 'compile'):
            ref = next((b for b in bench if b.get('model') == model and b.get('reference') == 'pytorch-' + how), None)
            cells.append(f"torch {how} {ref['images_per_s']:.0f} ({eng['images_per_s'] / ref['images_per_s']:.2f}x)"
                         if ref else f'torch {how} missing')
        tflops = eng['gflops'] / 1e3
        mfu = f', {tflops:.0f} TFLOP/s = {100 * tflops / peak:.0f}% of the matmul rate' if peak else ''
        print(f"{model + ' train B=' + str(eng['images']) + ' (img/s)':40s} {'; '.join(cells)}{mfu}")
    slides = [b for b in bench if b.get('mode') == 'slide']
    for b in slides:
        print(f"{'slide step ' + b['model'] + ' N=' + str(b['patches']) + ' chunk ' + str(b['chunk']):40s} "
              f"{b['slides_per_s']:.3f} slides/s ({b['patches_per_s']:.0f} patches/s), peak device "
              f"{b['peak_device_mb']:.0f} MiB (model+optimizer {b['resident_device_mb']:.0f} MiB, step estimate "
              f"{b.get('estimate_mb', 0):.0f} MiB)")
    if len(slides) >= 2:
        peaks = [b['peak_device_mb'] for b in slides]
        spread = (max(peaks) - min(peaks)) / max(1.0, min(peaks))
        print(f"{'slide step peak device memory':40s} {'flat' if spread <= 0.1 else 'NOT FLAT'} over "
              f"{slides[0]['patches']}..{slides[-1]['patches']} patches ({100 * spread:.0f}% spread)")
    print('RESULT', 'PASS' if ok else 'FAIL')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
