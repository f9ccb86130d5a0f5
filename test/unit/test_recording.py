"""Recording to MCAP: complete schemas, a write/read round trip with mcap's own reader, and bad input."""

import re
from pathlib import Path

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
from rclpy.serialization import serialize_message
from std_msgs.msg import Header, String

from skill_stack.launch.description import parse_launch_file
from skill_stack.msg import Affordance, Keypoint, Scene, SceneObject
from skill_stack.nodes.convert import numpy_to_image
from skill_stack.nodes.recorder import RecorderParams
from skill_stack.recording.definitions import SEPARATOR, DefinitionSource, UnknownMessageType, field_types
from skill_stack.recording.selection import TopicSelection, parse_topic_list
from skill_stack.recording.writer import McapRecording

LAUNCH = Path(__file__).resolve().parents[2] / 'launch'


def _read(path):
    """Every message decoded by mcap_ros2 from the schema alone, and the file's summary."""
    with open(path, 'rb') as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        header, summary = reader.get_header(), reader.get_summary()
        messages = [(channel.topic, schema.name, message, decoded)
                    for schema, channel, message, decoded in reader.iter_decoded_messages()]
    return header, summary, messages


def test_field_types_parse_arrays_bounds_constants_and_comments():
    text = ('# a comment mentioning geometry_msgs/Pose\n'
            'uint8 MODE=1  # a constant\n'
            'std_msgs/Header header\n'
            'Keypoint[] keypoints\n'
            'geometry_msgs/Point[<=4] corners\n'
            'string<=10 short_name\n'
            'float64[9] k\n'
            'Keypoint again\n')
    assert field_types(text, 'skill_stack') == ['geometry_msgs/Point', 'skill_stack/Keypoint', 'std_msgs/Header']


def test_complete_definition_lists_each_dependency_once_after_the_root():
    text = DefinitionSource().full_text('skill_stack/msg/Scene')
    sections = text.split(f'\n{SEPARATOR}\nMSG: ')
    assert sections[0].startswith('# What perception sees')  # the root's own .msg text first, no header line
    names = [s.split('\n', 1)[0] for s in sections[1:]]
    assert len(names) == len(set(names))
    assert {'skill_stack/SceneObject', 'skill_stack/Keypoint', 'skill_stack/Affordance', 'std_msgs/Header',
            'builtin_interfaces/Time', 'geometry_msgs/Pose', 'geometry_msgs/Point', 'geometry_msgs/Quaternion',
            'geometry_msgs/Vector3'} == set(names)
    assert DefinitionSource().full_text('skill_stack/Scene') == text  # short and long names agree


def _scene() -> Scene:
    obj = SceneObject(id='obj_0', label='box', color='red', confidence=0.9,
                      keypoints=[Keypoint(name='top', position=Point(x=0.5, y=0.1, z=0.04), width=0.03, u=320, v=-1)],
                      affordances=[Affordance(name='graspable', score=0.75)])
    obj.pose.orientation.w = 1.0
    return Scene(header=Header(stamp=Time(sec=12, nanosec=345), frame_id='world'), objects=[obj],
                 status='ok', support_height=float('nan'))


def test_round_trip_through_mcaps_reader_and_ros2_decoder(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    image = numpy_to_image(rgb, 'rgb8', Header(stamp=Time(sec=3, nanosec=7), frame_id='camera'))
    path = tmp_path / 'run.mcap'
    with McapRecording(str(path)) as recording:
        recording.add_topic('/chatter', 'std_msgs/msg/String')
        recording.add_topic('/arm/camera/color/image_raw', 'sensor_msgs/msg/Image', '- reliability: reliable')
        recording.add_topic('/arm/scene', 'skill_stack/msg/Scene')
        recording.write('/chatter', serialize_message(String(data='hello')), 1_000, 900)
        recording.write('/arm/camera/color/image_raw', serialize_message(image), 2_000)
        recording.write('/arm/scene', serialize_message(_scene()), 3_000)
        recording.write('/chatter', serialize_message(String(data='again')), 4_000)
    assert recording.counts == {'/chatter': 2, '/arm/camera/color/image_raw': 1, '/arm/scene': 1}

    header, summary, messages = _read(path)
    assert header.profile == 'ros2'
    assert summary.statistics.message_count == 4
    assert summary.chunk_indexes, 'no chunk index: the file would not seek'
    assert {s.encoding for s in summary.schemas.values()} == {'ros2msg'}
    assert {c.message_encoding for c in summary.channels.values()} == {'cdr'}
    image_channel = next(c for c in summary.channels.values() if c.topic == '/arm/camera/color/image_raw')
    assert image_channel.metadata == {'offered_qos_profiles': '- reliability: reliable'}

    by_topic = {}
    for topic, schema_name, message, decoded in messages:
        by_topic.setdefault(topic, []).append((schema_name, message, decoded))
    assert [d.data for _, _, d in by_topic['/chatter']] == ['hello', 'again']
    assert [(m.log_time, m.publish_time, m.sequence) for _, m, _ in by_topic['/chatter']] == [(1000, 900, 0),
                                                                                             (4000, 4000, 1)]
    name, _, got = by_topic['/arm/camera/color/image_raw'][0]
    assert name == 'sensor_msgs/msg/Image'
    assert (got.height, got.width, got.encoding, got.step) == (48, 64, 'rgb8', 64 * 3)
    assert (got.header.stamp.sec, got.header.stamp.nanosec, got.header.frame_id) == (3, 7, 'camera')
    assert np.array_equal(np.frombuffer(bytes(got.data), np.uint8).reshape(48, 64, 3), rgb)
    name, _, got = by_topic['/arm/scene'][0]
    assert name == 'skill_stack/msg/Scene'
    assert got.status == 'ok'
    assert np.isnan(got.support_height)
    obj = got.objects[0]
    assert (obj.id, obj.label, obj.color, obj.pose.orientation.w) == ('obj_0', 'box', 'red', 1.0)
    assert obj.confidence == pytest.approx(0.9)
    kp = obj.keypoints[0]
    assert (kp.name, kp.position.x, kp.position.z, kp.u, kp.v) == ('top', 0.5, 0.04, 320, -1)
    assert (obj.affordances[0].name, obj.affordances[0].score) == ('graspable', 0.75)


def test_writes_after_close_are_dropped(tmp_path):
    recording = McapRecording(str(tmp_path / 'a.mcap'))
    recording.add_topic('/chatter', 'std_msgs/String')
    recording.close()
    assert recording.write('/chatter', serialize_message(String(data='late')), 1) is False
    assert _read(tmp_path / 'a.mcap')[1].statistics.message_count == 0


@pytest.mark.parametrize(('type_name', 'message'), [
    ('no_such_pkg/msg/Thing', "package 'no_such_pkg' is not in the ament index"),
    ('std_msgs/msg/NoSuchType', 'no definition at'),
    ('skill_stack/action/ExecuteTask_FeedbackMessage', "is an interface of 'action', not 'msg'"),
    ('not a type', 'is not of the form pkg/msg/Type'),
])
def test_unknown_types_are_refused_with_the_type_named(tmp_path, type_name, message):
    with McapRecording(str(tmp_path / 'a.mcap')) as recording:
        with pytest.raises(UnknownMessageType, match=message) as err:
            recording.add_topic('/x', type_name)
        assert type_name in str(err.value)


def test_bad_topics_are_refused(tmp_path):
    with McapRecording(str(tmp_path / 'a.mcap')) as recording:
        with pytest.raises(ValueError, match="topic 'relative' must be an absolute name"):
            recording.add_topic('relative', 'std_msgs/msg/String')
        with pytest.raises(ValueError, match="topic '/nope' was not added"):
            recording.write('/nope', b'', 0)
        recording.add_topic('/x', 'std_msgs/msg/String')
        with pytest.raises(ValueError, match="already recorded as std_msgs/msg/String"):
            recording.add_topic('/x', 'std_msgs/msg/Header')


def test_unwritable_or_existing_paths_fail_at_open(tmp_path):
    not_a_dir = tmp_path / 'file.txt'
    not_a_dir.write_text('x')
    with pytest.raises(ValueError, match='does not exist'):
        McapRecording(str(not_a_dir / 'out.mcap'))
    with pytest.raises(ValueError, match='does not exist'):
        McapRecording(str(tmp_path / 'missing' / 'out.mcap'))
    with pytest.raises(ValueError, match='is a directory'):
        McapRecording(str(tmp_path))
    with pytest.raises(ValueError, match='exists; choose another path'):
        McapRecording(str(not_a_dir))
    assert not_a_dir.read_text() == 'x'
    McapRecording(str(not_a_dir), overwrite=True).close()  # allowed when asked
    with pytest.raises(ValueError, match='compression must be one of zstd, lz4, none'):
        McapRecording(str(tmp_path / 'b.mcap'), compression='gzip')
    with pytest.raises(ValueError, match='path is empty'):
        McapRecording('')


def test_topic_selection_is_all_named_or_matching():
    assert parse_topic_list(' /a, /b  /c ,') == ['/a', '/b', '/c']
    everything = TopicSelection()
    assert everything.wants('/arm/joint_states')
    assert not everything.wants('/arm/execute_task/_action/feedback')
    assert TopicSelection(include_hidden=True).wants('/arm/execute_task/_action/feedback')
    some = TopicSelection(['/clock', '/arm/execute_task/_action/status'], regex='/arm/camera/.*')
    assert some.wants('/clock')
    assert some.wants('/arm/execute_task/_action/status')
    assert some.wants('/arm/camera/color/image_raw')
    assert not some.wants('/arm/joint_states')
    assert not some.wants('/hand/arm/camera/x')
    with pytest.raises(ValueError, match="regex '\\[' is not a valid regular expression"):
        TopicSelection(regex='[')
    with pytest.raises(ValueError, match="topic 'clock' must be resolved"):
        TopicSelection(['clock'])


@pytest.mark.parametrize(('field', 'value', 'message'), [
    ('rescan_period_s', 0.0, "parameter 'rescan_period_s' must be in (0, 60]"),
    ('rescan_period_s', float('nan'), "parameter 'rescan_period_s'"),
    ('compression', 'gzip', "parameter 'compression' must be one of"),
    ('qos_depth', 0, "parameter 'qos_depth' must be in [1, 10000]"),
])
def test_bad_recorder_parameters_name_the_parameter(field, value, message):
    params = RecorderParams(path='', topics='', regex='', include_hidden=False, rescan_period_s=1.0,
                            compression='zstd', overwrite=False, qos_depth=50)
    setattr(params, field, value)
    with pytest.raises(ValueError, match=re.escape(message)):
        params.validate()


@pytest.mark.parametrize(('stack', 'namespace'), [('arm_stack', '/arm'), ('hand_stack', '/hand')])
def test_stacks_include_the_recorder_only_when_asked(stack, namespace):
    path = str(LAUNCH / f'{stack}.launch.yaml')
    assert not [n for n in parse_launch_file(path).nodes if n.executable == 'recorder']
    recorders = [n for n in parse_launch_file(path, {'record': 'true', 'record_path': '/tmp/run.mcap'}).nodes
                 if n.executable == 'recorder']
    assert len(recorders) == 1
    assert recorders[0].namespace == namespace
    assert {'path': '/tmp/run.mcap'} in recorders[0].parameters
