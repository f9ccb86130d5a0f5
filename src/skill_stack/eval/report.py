"""The evaluation report: ``results.json`` (everything), ``report.md`` (for people) and PNG plots.

Plots are drawn with OpenCV, which the stack already needs, so a report never depends on a plotting library.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

import cv2
import numpy as np

from skill_stack.eval.runner import ScenarioResult
from skill_stack.eval.scenario import CATEGORIES

LATENCIES = ('goal_to_first_motion_s', 'total_s')
CAUSES = ('body', 'perception', 'grounding', 'planning', 'skill', 'timeout', 'set-up')
# Words of the stack's failure messages that point at a layer.  The report only sorts failures for people;
# nothing decides on this (the typed result codes of ExecuteTask, once they exist, replace it).
# The robot's body cannot: beyond the arm's reach, wider than the hand's pinch.
_BODY_WORDS = ('out of reach', "the hand's pinch takes up to", "fits the hand's pinch with score 0.00")
_PERCEPTION_WORDS = ('perception', 'no longer seen', 'not seen', 'no scene', 'lost sight', 'cannot see')
_GROUNDING_WORDS = ('ambiguous', 'which one', 'did you mean', 'no match', 'nothing matches', 'nothing was named',
                    'does not match', 'no such', 'not in the scene', 'found no', 'no object')


def cause_of(result: ScenarioResult) -> str:
    """The layer a failed scenario most likely failed in (one of CAUSES); '' for a pass."""
    if result.passed:
        return ''
    if result.success is None and not result.timed_out:
        return 'set-up'
    if result.timed_out:
        return 'timeout'
    text = ' '.join([result.message, *(str(step.get('message', '')) for step in result.plan)]).lower()
    ran = [step for step in result.plan if step.get('status') not in (None, 'pending', 'skipped')]
    if result.expected_success and any(word in text for word in _BODY_WORDS):
        return 'body'  # the scene holds what this robot cannot do (out of reach, too wide to pinch)
    if any(word in text for word in _PERCEPTION_WORDS):
        return 'perception'
    if not ran:
        return 'grounding' if any(word in text for word in _GROUNDING_WORDS) else 'planning'
    if result.success and not result.expected_success:
        return 'planning'  # something ran that should have been refused
    return 'skill'


def _rate(results: Sequence[ScenarioResult]) -> Dict[str, Any]:
    passed = sum(r.passed for r in results)
    return {'n': len(results), 'passed': passed, 'rate': passed / len(results) if results else None}


def percentiles(values: Sequence[float]) -> Dict[str, Optional[float]]:
    """p50, p90 and max of the values that exist (None when none do)."""
    if not values:
        return {'n': 0, 'p50': None, 'p90': None, 'max': None}
    a = np.asarray(values, float)
    return {'n': int(a.size), 'p50': round(float(np.percentile(a, 50)), 3),
            'p90': round(float(np.percentile(a, 90)), 3), 'max': round(float(a.max()), 3)}


def summarize(results: Sequence[ScenarioResult], wall_s: float = 0.0) -> Dict[str, Any]:
    """Rates overall, per category, family and embodiment, failures by cause, and latency percentiles over the
    tasks that had them."""
    for r in results:
        r.cause = cause_of(r)
    families = list(dict.fromkeys(r.family or r.category for r in results))
    categories = [c for c in CATEGORIES if any(r.category == c for r in results)]
    categories += sorted({r.category for r in results} - set(categories))
    embodiments = list(dict.fromkeys(r.embodiment for r in results))
    latency = {key: percentiles([r.timings[key] for r in results if r.timings.get(key) is not None])
               for key in LATENCIES}
    return {'overall': _rate(results),
            'by_category': {c: _rate([r for r in results if r.category == c]) for c in categories},
            'by_family': {f: _rate([r for r in results if (r.family or r.category) == f]) for f in families},
            'by_embodiment': {e: _rate([r for r in results if r.embodiment == e]) for e in embodiments},
            'failures_by_cause': {c: sum(r.cause == c for r in results) for c in CAUSES},
            'latency': latency,
            'latency_by_embodiment': {e: {key: percentiles([r.timings[key] for r in results
                                                            if r.embodiment == e and r.timings.get(key) is not None])
                                          for key in LATENCIES} for e in embodiments},
            'wall_s': round(wall_s, 1)}


def _pct(rate: Optional[float]) -> str:
    return '-' if rate is None else f'{100.0 * rate:.1f}%'


def _s(value: Optional[float]) -> str:
    return '-' if value is None else f'{value:.2f}'


def markdown(summary: Dict[str, Any], results: Sequence[ScenarioResult], title: str = 'skill-stack eval') -> str:
    o = summary['overall']
    lines = [f'# {title}', '',
             f"**{o['passed']}/{o['n']} scenarios passed ({_pct(o['rate'])})** in {summary['wall_s']:.0f} s.", '',
             '![success rates](success.png)', '', '![latency](latency.png)', '']
    for key, label in (('by_family', 'family'), ('by_category', 'category'), ('by_embodiment', 'embodiment')):
        lines += [f'| {label} | passed | rate |', '|---|---|---|']
        lines += [f"| {name} | {r['passed']}/{r['n']} | {_pct(r['rate'])} |" for name, r in summary[key].items()]
        lines.append('')
    lines += ['| failures by cause | count |', '|---|---|']
    lines += [f'| {c} | {n} |' for c, n in summary['failures_by_cause'].items()]
    lines.append('')
    lines += ['Latency (seconds; first motion: goal accepted to the first robot command, over tasks that moved):', '',
              '| embodiment | first motion p50 | p90 | max | total p50 | p90 | max |',
              '|---|---|---|---|---|---|---|']
    rows = [('all', summary['latency']), *summary['latency_by_embodiment'].items()]
    for name, lat in rows:
        m, t = lat['goal_to_first_motion_s'], lat['total_s']
        lines.append(f"| {name} | {_s(m['p50'])} | {_s(m['p90'])} | {_s(m['max'])} | {_s(t['p50'])} | "
                     f"{_s(t['p90'])} | {_s(t['max'])} |")
    lines.append('')
    failures = [r for r in results if not r.passed]
    lines += [f'## Failures ({len(failures)})', '']
    if not failures:
        lines += ['None.', '']
    for r in failures:
        lines += [f'### {r.name} ({r.embodiment}, {r.family or r.category}; cause: {r.cause or "-"})', '',
                  f'- file: `{r.source}`', f'- instruction: "{r.instruction}"']
        for at, text in r.corrections:
            lines.append(f'- correction at {at:g} s: "{text}"')
        lines += [f"- expected success: {str(r.expected_success).lower()}; the task reported: "
                  f"{'-' if r.success is None else str(r.success).lower()} ({r.message or 'no message'})",
                  f'- reason: {r.reason}']
        if r.plan:
            lines.append('- plan:')
            for i, step in enumerate(r.plan):
                args = json.dumps(step.get('args', {}), sort_keys=True)
                said = f" - {step['message']}" if step.get('message') else ''
                lines.append(f"  {i + 1}. `{step.get('skill')}` {args}: {step.get('status')}{said}")
        else:
            lines.append('- plan: none')
        lines.append('')
    lines += ['## All scenarios', '', '| scenario | embodiment | family | result | total s |',
              '|---|---|---|---|---|']
    lines += [f"| {r.name} | {r.embodiment} | {r.family or r.category} | {'pass' if r.passed else 'FAIL'} | "
              f"{_s(r.timings.get('total_s'))} |" for r in results]
    return '\n'.join(lines) + '\n'


# -- plots ---------------------------------------------------------------------------------------

_WHITE, _BLACK, _GREY = (255, 255, 255), (30, 30, 30), (200, 200, 200)
_GOOD, _BAD, _BLUE = (80, 170, 60), (60, 60, 210), (200, 120, 40)  # BGR
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _text(img: np.ndarray, text: str, xy: Tuple[int, int], scale: float = 0.5, color=_BLACK) -> None:
    cv2.putText(img, text, xy, _FONT, scale, color, 1, cv2.LINE_AA)


def _bars(img: np.ndarray, origin: Tuple[int, int], width: int, title: str,
          rows: Sequence[Tuple[str, Dict[str, Any]]]) -> None:
    """Horizontal bars of success rate, 0..100 %, one per row, labelled with passed/n."""
    x0, y = origin
    _text(img, title, (x0, y), 0.6)
    y += 15
    label_w, bar_w = 150, width - 320  # room for "100% (41/41)" right of the bar
    for name, r in rows:
        rate = r['rate'] or 0.0
        _text(img, name, (x0, y + 17))
        cv2.rectangle(img, (x0 + label_w, y), (x0 + label_w + bar_w, y + 24), _GREY, 1)
        colour = _GOOD if rate >= 0.95 else _BAD
        cv2.rectangle(img, (x0 + label_w, y), (x0 + label_w + int(bar_w * rate), y + 24), colour, -1)
        _text(img, f"{100 * rate:.0f}% ({r['passed']}/{r['n']})", (x0 + label_w + bar_w + 8, y + 17))
        y += 32


def success_plot(summary: Dict[str, Any], path: Path) -> None:
    groups = [(f'per {key}', list(summary[f'by_{key}'].items())) for key in ('family', 'embodiment')]
    height = 60 + sum(50 + 32 * len(rows) for _, rows in groups) + 20
    img = np.full((height, 720, 3), 255, np.uint8)
    o = summary['overall']
    _text(img, f"success: {o['passed']}/{o['n']} ({_pct(o['rate'])})", (20, 30), 0.7)
    y = 70
    for title, rows in groups:
        _bars(img, (20, y), 700, title, rows)
        y += 32 * len(rows) + 50
    cv2.imwrite(str(path), img)


def latency_plot(results: Sequence[ScenarioResult], path: Path) -> None:
    """Every task's total time as a dot per embodiment (red: failed), with p50 and p90 ticks."""
    embodiments = list(dict.fromkeys(r.embodiment for r in results))
    times = [r.timings.get('total_s') for r in results if r.timings.get('total_s') is not None]
    top = max(10.0, math.ceil(max(times, default=10.0) / 10.0) * 10.0)
    w, h, left, bottom, upper = 720, 420, 70, 60, 40
    img = np.full((h, w, 3), 255, np.uint8)
    _text(img, 'total task time per scenario (s); ticks: p50, p90', (left, 25), 0.6)
    plot_h = h - bottom - upper

    def y_of(v: float) -> int:
        return int(h - bottom - plot_h * v / top)

    for k in range(6):
        v = top * k / 5
        cv2.line(img, (left, y_of(v)), (w - 20, y_of(v)), _GREY, 1)
        _text(img, f'{v:.0f}', (10, y_of(v) + 5), 0.45)
    slot = (w - 20 - left) / max(1, len(embodiments))
    rng = np.random.default_rng(0)  # jitter only, deterministic
    for i, embodiment in enumerate(embodiments):
        cx = int(left + slot * (i + 0.5))
        mine = [r for r in results if r.embodiment == embodiment and r.timings.get('total_s') is not None]
        for r in mine:
            x = int(cx + rng.uniform(-slot * 0.25, slot * 0.25))
            cv2.circle(img, (x, y_of(r.timings['total_s'])), 4, _GOOD if r.passed else _BAD, -1, cv2.LINE_AA)
        if mine:
            stats = percentiles([r.timings['total_s'] for r in mine])
            for key in ('p50', 'p90'):
                cv2.line(img, (int(cx - slot * 0.35), y_of(stats[key])), (int(cx + slot * 0.35), y_of(stats[key])),
                         _BLUE, 2)
        _text(img, f'{embodiment} ({len(mine)})', (int(cx - 40), h - bottom + 25))
    cv2.imwrite(str(path), img)


def write_report(out_dir: Path, results: Sequence[ScenarioResult], wall_s: float,
                 extra: Optional[Dict[str, Any]] = None) -> Dict[str, Path]:
    """Write results.json, report.md, success.png and latency.png under ``out_dir``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summarize(results, wall_s)
    paths = {'json': out_dir / 'results.json', 'markdown': out_dir / 'report.md',
             'success_plot': out_dir / 'success.png', 'latency_plot': out_dir / 'latency.png'}
    payload: Dict[str, Any] = {
        'rate': summary['overall']['rate'],
        'by_family': {name: r['rate'] for name, r in summary['by_family'].items()},
        'by_embodiment': {name: r['rate'] for name, r in summary['by_embodiment'].items()},
        'summary': summary, **(extra or {}), 'scenarios': [r.to_dict() for r in results]}
    paths['json'].write_text(json.dumps(payload, indent=2) + '\n', encoding='utf-8')
    paths['markdown'].write_text(markdown(summary, results), encoding='utf-8')
    success_plot(summary, paths['success_plot'])
    latency_plot(results, paths['latency_plot'])
    return paths
