"""``skill-stack skill SKILL [ARGS_JSON]``: run one skill on a running stack (an ExecuteSkill client).

What ``ros2 action send_goal`` would do, with the feedback printed as it comes
and Ctrl-C cancelling the goal. Exit 0 on success, 1 on failure, 2 on a usage
error or when no skill server answers.
"""

import argparse
import json
import sys
import time


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser('skill', help='run one skill on a running stack (ExecuteSkill action client)',
                       description=__doc__.split('\n\n')[0],
                       epilog='example:\n  skill-stack skill pick \'{"object": "the red cube"}\'',
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('skill', help='skill name (list them with --list)', nargs='?')
    p.add_argument('args_json', nargs='?', default='{}', metavar='ARGS_JSON', help='arguments as a JSON object')
    p.add_argument('--namespace', default='arm', help='namespace of the robot (default: arm)')
    p.add_argument('--list', action='store_true', help='list the skills the server offers and exit')
    p.add_argument('--timeout', type=float, default=60.0, metavar='S', help='give up after S seconds (default 60)')
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not args.list and not args.skill:
        print('skill-stack skill: error: name a skill, or use --list', file=sys.stderr)
        return 2
    try:
        parsed = json.loads(args.args_json)
    except json.JSONDecodeError as exc:
        print(f'skill-stack skill: error: ARGS_JSON is not valid JSON: {exc}', file=sys.stderr)
        return 2
    if not isinstance(parsed, dict):
        print('skill-stack skill: error: ARGS_JSON must be a JSON object', file=sys.stderr)
        return 2
    import rclpy
    from rclpy.action import ActionClient

    from skill_stack.action import ExecuteSkill
    from skill_stack.srv import ListSkills

    ns = '/' + args.namespace.strip('/') if args.namespace.strip('/') else ''
    rclpy.init()
    node = rclpy.create_node('skill_stack_skill_client')
    try:
        if args.list:
            client = node.create_client(ListSkills, f'{ns}/list_skills')
            if not client.wait_for_service(timeout_sec=10.0):
                print(f'skill-stack skill: error: no skill server at {ns}/list_skills', file=sys.stderr)
                return 2
            future = client.call_async(ListSkills.Request())
            rclpy.spin_until_future_complete(node, future, timeout_sec=10.0)
            print(json.dumps(json.loads(future.result().skills_json), indent=2))
            return 0
        client = ActionClient(node, ExecuteSkill, f'{ns}/execute_skill')
        if not client.wait_for_server(timeout_sec=10.0):
            print(f'skill-stack skill: error: no skill server at {ns}/execute_skill; is the stack running?',
                  file=sys.stderr)
            return 2
        goal = ExecuteSkill.Goal(skill=args.skill, args_json=json.dumps(parsed))

        shown = {'phase': None, 'progress': -1.0}

        def feedback(msg):
            f = msg.feedback  # printed when the phase changes or every 10% of progress
            if f.phase != shown['phase'] or f.progress - shown['progress'] >= 0.1:
                shown.update(phase=f.phase, progress=f.progress)
                print(f'  {f.phase:<10} {f.progress * 100:5.1f}%  distance {f.distance_to_target:.3f} m', flush=True)

        sent = client.send_goal_async(goal, feedback_callback=feedback)
        rclpy.spin_until_future_complete(node, sent, timeout_sec=10.0)
        handle = sent.result()
        if handle is None or not handle.accepted:
            print('skill-stack skill: the server refused the goal (is another skill running?)', file=sys.stderr)
            return 1
        result = handle.get_result_async()
        deadline = time.monotonic() + args.timeout
        try:
            while not result.done() and time.monotonic() < deadline:
                rclpy.spin_once(node, timeout_sec=0.1)
        except KeyboardInterrupt:
            cancel = handle.cancel_goal_async()
            rclpy.spin_until_future_complete(node, cancel, timeout_sec=5.0)
            print('cancelled', file=sys.stderr)
            return 1
        if not result.done():
            handle.cancel_goal_async()
            print(f'skill-stack skill: no result after {args.timeout:g} s; cancelled', file=sys.stderr)
            return 1
        outcome = result.result().result
        print(('succeeded: ' if outcome.success else 'failed: ') + outcome.message)
        return 0 if outcome.success else 1
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
