"""``skill-stack teleop``: drive a running robot from the keyboard (and a gamepad), and type corrections.

Teleop takes over from autonomy while keys are held and gives the robot back
when they are let go (the drivers arbitrate; see README "Teleoperation").
Exit 0 when quit with Esc or Ctrl-C, 2 on a usage error (no terminal, a
gamepad that cannot be opened, a bad parameter).
"""

import argparse
import os
import sys
import threading


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser('teleop', help='drive a robot from the keyboard or a gamepad; type corrections',
                       description=__doc__.split('\n\n')[0])
    p.add_argument('--namespace', default=None, help="namespace of the robot (default: the embodiment's name)")
    p.add_argument('--embodiment', default='arm', choices=('arm', 'hand', 'quadrotor'),
                   help='the robot (default: arm)')
    p.add_argument('--gamepad', default='auto', metavar='auto|none|/dev/input/jsN',
                   help='auto: the first /dev/input/js* if one is present (default); none: keyboard only')
    p.add_argument('--key-hold', type=float, default=0.7, metavar='S',
                   help="a key counts as held S s after its last repeat (default 0.7; above the terminal's "
                        'key-repeat delay)')
    p.set_defaults(handler=run)


def gamepad_path(choice: str):
    """The device to open for --gamepad, None for none; ValueError when a named one does not exist."""
    from skill_stack.teleop.joystick import find_gamepad

    if choice == 'none':
        return None
    if choice == 'auto':
        return find_gamepad()
    if not os.path.exists(choice):
        raise ValueError(f"--gamepad: '{choice}' does not exist (auto, none, or a /dev/input/jsN device)")
    return choice


def run(args: argparse.Namespace) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print('skill-stack teleop: error: needs an interactive terminal (stdin and stdout)', file=sys.stderr)
        return 2
    try:
        path = gamepad_path(args.gamepad)
    except ValueError as exc:
        print(f'skill-stack teleop: error: {exc}', file=sys.stderr)
        return 2
    import curses

    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter

    from skill_stack.nodes.teleop import TeleopNode
    from skill_stack.teleop import screen
    from skill_stack.teleop.joystick import JoystickReader

    joystick = None
    if path is not None:
        try:
            joystick = JoystickReader(path)
        except OSError as exc:
            print(f'skill-stack teleop: error: {exc}', file=sys.stderr)
            return 2
    namespace = args.namespace if args.namespace is not None else args.embodiment
    rclpy.init(args=['--ros-args', '--disable-stdout-logs'])  # log lines would scribble over the screen
    try:
        node = TeleopNode(namespace='/' + namespace.strip('/') if namespace.strip('/') else '',
                          embodiment=args.embodiment,
                          parameter_overrides=[Parameter('key_hold_s', value=float(args.key_hold))])
    except ValueError as exc:
        print(f'skill-stack teleop: error: {exc}', file=sys.stderr)
        rclpy.try_shutdown()
        return 2
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, name='teleop-ros', daemon=True)
    spinner.start()
    try:
        curses.wrapper(screen.run, node, joystick)
    except KeyboardInterrupt:
        pass
    finally:
        node.let_go()
        executor.shutdown()
        spinner.join(timeout=5.0)
        node.destroy_node()
        rclpy.try_shutdown()
        if joystick is not None:
            joystick.close()
    return 0
