"""VOI, Modality LUT, polarity and padding on constructed input, against the standard's formulas."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from mammo_workstation.dicom.decode import DecodedFrame
from mammo_workstation.pipeline.grayscale import (
    VOIFunction,
    Window,
    base_pipeline,
    is_inverted,
    percentile_window,
    pipeline_for,
)
from mammo_workstation.pipeline.image import display_image_from, is_for_processing
from mammo_workstation.pipeline.lut import LookupTable, lut_from_item
from mammo_workstation.pipeline.reference import apply_window, render_float


def linear(x: float, c: float, w: float) -> float:
    """PS3.3 C.11.2.1.2.1, output range 0..1, written out case by case."""
    if x <= c - 0.5 - (w - 1) / 2:
        return 0.0
    if x > c - 0.5 + (w - 1) / 2:
        return 1.0
    return (x - (c - 0.5)) / (w - 1) + 0.5


def image_dataset(rows: int = 2, columns: int = 4, **attributes: object) -> Dataset:
    ds = Dataset()
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 0
    ds.PhotometricInterpretation = "MONOCHROME2"
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    return ds


def lut_item(descriptor: list[int], data: object, vr: str = "US", explanation: str = "") -> Dataset:
    item = Dataset()
    item.add_new(0x00283002, "US", descriptor)
    item.add_new(0x00283006, vr, data)
    if explanation:
        item.LUTExplanation = explanation
    return item


# -- VOI LUT Function ------------------------------------------------------------------------


def test_linear_window_matches_formula() -> None:
    window = Window(100.0, 21.0, VOIFunction.LINEAR)
    x = np.arange(80, 121, dtype=np.float64)
    expected = [linear(value, 100.0, 21.0) for value in x]
    np.testing.assert_allclose(apply_window(window, x), expected)
    # The ends, worked by hand: 89 <= 89.5 is black, 90 is 0.025, 110 > 109.5 is white.
    assert apply_window(window, np.array([89.0, 90.0, 110.0])).tolist() == pytest.approx([0.0, 0.025, 1.0])


def test_linear_exact_matches_formula() -> None:
    # PS3.3 C.11.2.1.3.2: y = (x - c) / w + 0.5 between c - w/2 (exclusive) and c + w/2.
    window = Window(100.0, 20.0, VOIFunction.LINEAR_EXACT)
    values = apply_window(window, np.array([89.0, 90.0, 95.0, 100.0, 110.0, 111.0]))
    assert values.tolist() == pytest.approx([0.0, 0.0, 0.25, 0.5, 1.0, 1.0])


def test_linear_exact_accepts_width_below_one() -> None:
    ds = image_dataset(WindowCenter=100, WindowWidth=0.5, VOILUTFunction="LINEAR_EXACT")
    window = pipeline_for(ds).window
    assert window is not None
    assert window.width == 0.5


def test_sigmoid_matches_formula() -> None:
    # PS3.3 C.11.2.1.3.1: y = 1 / (1 + exp(-4 (x - c) / w)).
    window = Window(2000.0, 400.0, VOIFunction.SIGMOID)
    values = apply_window(window, np.array([2000.0, 2100.0, 1900.0]))
    assert values.tolist() == pytest.approx([0.5, 1 / (1 + math.exp(-1)), 1 / (1 + math.exp(1))])


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("SIGMOID", VOIFunction.SIGMOID),
        ("SIGMOID ", VOIFunction.SIGMOID),
        ("sigmoid", VOIFunction.SIGMOID),
        (" LINEAR_EXACT", VOIFunction.LINEAR_EXACT),
        ("linear_exact ", VOIFunction.LINEAR_EXACT),
        ("Linear", VOIFunction.LINEAR),
        ("", VOIFunction.LINEAR),
        (None, VOIFunction.LINEAR),
    ],
)
def test_voi_function_parse_lenient(written: object, expected: VOIFunction) -> None:
    assert VOIFunction.parse(written) is expected


def test_voi_function_from_file_and_override() -> None:
    ds = image_dataset(WindowCenter=[2000, 1800], WindowWidth=[400, 600],
                       WindowCenterWidthExplanation=["NORMAL", "HARDER"], VOILUTFunction="SIGMOID ")
    window = pipeline_for(ds).window
    assert window == Window(2000.0, 400.0, VOIFunction.SIGMOID, "NORMAL")
    overridden = pipeline_for(ds, voi_index=1, function=VOIFunction.LINEAR).window
    assert overridden == Window(1800.0, 600.0, VOIFunction.LINEAR, "HARDER")


# -- One VOI transform by default (PS3.3 C.11.2.1) -------------------------------------------


def _with_voi_lut(ds: Dataset) -> Dataset:
    ds.VOILUTSequence = Sequence([lut_item([4, 10, 8], [0, 85, 170, 255], explanation="SOFT")])
    return ds


def test_default_is_first_window_when_windows_exist() -> None:
    ds = _with_voi_lut(image_dataset(WindowCenter=[12, 50], WindowWidth=[4, 10]))
    pipeline = pipeline_for(ds)
    assert pipeline.window is not None and pipeline.window.center == 12.0
    assert pipeline.voi_lut is None


def test_default_is_first_voi_lut_without_windows() -> None:
    pipeline = pipeline_for(_with_voi_lut(image_dataset()))
    assert pipeline.window is None
    assert pipeline.voi_lut is not None and pipeline.voi_lut.explanation == "SOFT"


def test_default_without_voi_is_unpadded_range() -> None:
    ds = image_dataset(PixelPaddingValue=0)
    stored = np.array([[0, 0, 100, 200], [300, 400, 0, 0]], dtype=np.uint16)
    image = display_image_from(ds_path(), ds, DecodedFrame(stored, 12, False, "MONOCHROME2"))
    window = image.pipeline.window
    assert window is not None
    # min 100 and max 400 of the unpadded values: w = 400 - 100 + 1, c = 100 + w / 2.
    assert (window.center, window.width) == (100 + 301 / 2, 301.0)
    y = render_float(image.pipeline, stored)
    assert y[0, 2] == 0.0
    assert y[1, 1] == 1.0
    assert image.presets[-1] is image.pipeline


def test_presets_list_windows_then_luts_then_auto() -> None:
    ds = _with_voi_lut(image_dataset(WindowCenter=[12, 50], WindowWidth=[4, 10],
                                     WindowCenterWidthExplanation=["A", "B"]))
    stored = np.array([[10, 11, 12, 13]], dtype=np.uint16)
    image = display_image_from(ds_path(), ds, DecodedFrame(stored, 12, False, "MONOCHROME2"))
    assert image.preset_labels == ["A", "B", "VOI LUT SOFT", "AUTO"]
    assert (image.window_count, image.voi_lut_count) == (2, 1)
    with pytest.raises(IndexError, match="VOI LUT 2 requested, the image has 1"):
        display_image_from(ds_path(), ds, DecodedFrame(stored, 12, False, "MONOCHROME2"), voi_lut_index=1)


def ds_path() -> Path:
    """A path for DisplayImage; nothing is read from it."""
    return Path("constructed.dcm")


# -- LUT Descriptor and LUT Data (PS3.3 C.11.1.1, C.11.2.1.1) ----------------------------------


def _lut_output(lut: LookupTable, x: list[int]) -> list[float]:
    from mammo_workstation.pipeline.lut import apply_lut

    return apply_lut(lut, np.array(x)).tolist()


def test_voi_lut_us_data_maps_and_clamps() -> None:
    lut = lut_from_item(lut_item([4, 10, 8], [0, 85, 170, 255]), signed_input=False, kind="VOI LUT")
    # index = x - first mapped, clamped: 9 -> entry 0, 14 -> entry 3.
    assert _lut_output(lut, [9, 10, 11, 12, 13, 14]) == [0, 0, 85, 170, 255, 255]
    assert lut.bits == 8


def test_voi_lut_ow_data_16_bit() -> None:
    words = np.array([0, 1000, 4095], dtype="<u2").tobytes()
    lut = lut_from_item(lut_item([3, 0, 12], words, vr="OW"), signed_input=False, kind="VOI LUT")
    assert lut.data.tolist() == [0, 1000, 4095]
    assert lut.output_max == 4095


def test_voi_lut_ow_data_8_bit_packed() -> None:
    # PS3.3 C.11.1.1.1: 8-bit entries in OW are packed two to a 16-bit word.
    lut = lut_from_item(lut_item([4, 0, 8], bytes([0, 64, 128, 255]), vr="OW"),
                        signed_input=False, kind="VOI LUT")
    assert lut.data.tolist() == [0, 64, 128, 255]


def test_descriptor_zero_means_65536_entries() -> None:
    data = (np.arange(65536) >> 4).astype("<u2").tobytes()
    lut = lut_from_item(lut_item([0, 0, 12], data, vr="OW"), signed_input=False, kind="VOI LUT")
    assert len(lut.data) == 65536
    assert _lut_output(lut, [65535]) == [4095]


def test_descriptor_bits_wider_than_entries_use() -> None:
    # Declared 16 bits, entries never above 4095: the entries' 12 bits scale the output.
    lut = lut_from_item(lut_item([3, 0, 16], [0, 2048, 4095]), signed_input=False, kind="VOI LUT")
    assert lut.bits == 12
    ds = image_dataset()
    ds.VOILUTSequence = Sequence([lut_item([3, 0, 16], [0, 2048, 4095])])
    y = render_float(pipeline_for(ds), np.array([0, 1, 2]))
    assert y.tolist() == pytest.approx([0.0, 2048 / 4095, 1.0])


def test_modality_lut_on_signed_input_written_as_us() -> None:
    # First mapped -2048 written as US 63488; the image is signed (Pixel Representation 1).
    ds = image_dataset(PixelRepresentation=1, RescaleSlope=2, RescaleIntercept=5)
    ds.ModalityLUTSequence = Sequence([lut_item([4, 63488, 16], [100, 200, 300, 400])])
    pipeline = base_pipeline(ds)
    assert pipeline.modality_lut is not None and pipeline.modality_lut.first_mapped == -2048
    from mammo_workstation.pipeline.reference import apply_modality

    # The Modality LUT replaces Rescale Slope/Intercept (PS3.3 C.11.1).
    assert apply_modality(pipeline, np.array([-3000, -2048, -2046, -2045, 0])).tolist() == [
        100, 100, 300, 400, 400]


def test_voi_lut_input_is_modality_output() -> None:
    ds = image_dataset(RescaleSlope=1, RescaleIntercept=-1000)
    ds.VOILUTSequence = Sequence([lut_item([3, 64536, 8], [0, 128, 255])])  # first mapped -1000
    y = render_float(pipeline_for(ds), np.array([0, 1, 2, 3]))
    assert y.tolist() == pytest.approx([0.0, 128 / 255, 1.0, 1.0])


# -- Polarity (PS3.3 C.11.6, C.7.6.3.1.2) -----------------------------------------------------


@pytest.mark.parametrize(
    ("photometric", "shape", "inverted"),
    [
        ("MONOCHROME2", None, False),
        ("MONOCHROME2", "IDENTITY", False),
        ("MONOCHROME2", "INVERSE", True),
        ("MONOCHROME1", None, True),
        ("MONOCHROME1", "INVERSE", True),
        ("MONOCHROME1", "IDENTITY", True),
    ],
)
def test_inverted_exactly_once(photometric: str, shape: str | None, inverted: bool) -> None:
    assert is_inverted(photometric, shape) is inverted


def test_inversion_after_voi_and_user_toggle() -> None:
    ds = image_dataset(PhotometricInterpretation="MONOCHROME1", PresentationLUTShape="INVERSE",
                       WindowCenter=100, WindowWidth=21)
    pipeline = pipeline_for(ds)
    x = np.array([90, 100, 110])
    expected = [linear(v, 100, 21) for v in x]
    np.testing.assert_allclose(render_float(pipeline, x), [1 - e for e in expected])
    np.testing.assert_allclose(render_float(pipeline.toggled_invert(), x), expected)


# -- Stored values: padding before the Modality LUT (PS3.3 C.7.5.1.1.2) ------------------------


def test_padding_range_on_stored_values() -> None:
    ds = image_dataset(PixelPaddingValue=0, PixelPaddingRangeLimit=30, RescaleIntercept=100,
                       RescaleSlope=1, WindowCenter=150, WindowWidth=100)
    pipeline = pipeline_for(ds)
    assert pipeline.padding == (0, 30)
    y = render_float(pipeline, np.array([0, 15, 30, 31]))
    assert y[:3].tolist() == [0.0, 0.0, 0.0]
    assert y[3] == pytest.approx(linear(131, 150, 100))


def test_padding_black_on_monochrome1() -> None:
    ds = image_dataset(PhotometricInterpretation="MONOCHROME1", PixelPaddingValue=4095,
                       WindowCenter=2048, WindowWidth=4096)
    y = render_float(pipeline_for(ds), np.array([4095, 0]))
    assert y.tolist() == [0.0, 1.0]


def test_signed_padding_written_as_us() -> None:
    ds = image_dataset(PixelRepresentation=1, BitsStored=16)
    ds.add_new(0x00280120, "US", 63536)  # -2000 as an unsigned 16-bit pattern
    assert base_pipeline(ds).padding == (-2000, -2000)


# -- Per-frame VOI from functional groups (PS3.3 C.7.6.16.2.10) --------------------------------


def _frame_voi(center: float, width: float, function: str | None = None) -> Dataset:
    group = Dataset()
    voi = Dataset()
    voi.WindowCenter, voi.WindowWidth = center, width
    if function:
        voi.VOILUTFunction = function
    group.FrameVOILUTSequence = Sequence([voi])
    return group


def test_per_frame_voi_overrides_shared() -> None:
    ds = image_dataset(NumberOfFrames=3)
    ds.SharedFunctionalGroupsSequence = Sequence([_frame_voi(500, 100, "SIGMOID")])
    first = Dataset()
    second = _frame_voi(700, 300)
    pixel_transform = Dataset()
    pixel_transform.RescaleSlope, pixel_transform.RescaleIntercept = 2, -10
    second.PixelValueTransformationSequence = Sequence([pixel_transform])
    ds.PerFrameFunctionalGroupsSequence = Sequence([first, second, Dataset()])
    assert pipeline_for(ds, frame=0).window == Window(500.0, 100.0, VOIFunction.SIGMOID, "WINDOW 1")
    per_frame = pipeline_for(ds, frame=1)
    assert per_frame.window == Window(700.0, 300.0, VOIFunction.LINEAR, "WINDOW 1")
    assert (per_frame.rescale_slope, per_frame.rescale_intercept) == (2.0, -10.0)


# -- A user's window/level on a VOI LUT or a sigmoid stays smooth ------------------------------


def test_window_level_on_voi_lut_keeps_lut() -> None:
    ramp = [round(i * 4095 / 255) for i in range(256)]  # 256 entries, linear, 12 bits
    ds = image_dataset()
    ds.VOILUTSequence = Sequence([lut_item([256, 1000, 12], ramp)])
    pipeline = pipeline_for(ds)
    start = pipeline.current_window()
    assert (start.center, start.width) == (1128.0, 256.0)
    x = np.arange(900, 1400)
    unchanged = pipeline.window_leveled(start.center, start.width)
    np.testing.assert_array_equal(render_float(unchanged, x), render_float(pipeline, x))
    # Moving the centre by 8 shifts the LUT by 8 input values: no jump to white anywhere.
    moved = render_float(pipeline.window_leveled(start.center + 8, start.width), x)
    np.testing.assert_array_equal(moved[8:], render_float(pipeline, x)[:-8])
    assert moved.max() == 1.0
    assert (moved < 1.0).sum() > 200
    assert pipeline.window_leveled(start.center + 8, start.width).voi_lut is pipeline.voi_lut


def test_window_level_on_sigmoid_keeps_function() -> None:
    ds = image_dataset(WindowCenter=2000, WindowWidth=400, VOILUTFunction="SIGMOID")
    pipeline = pipeline_for(ds)
    adjusted = pipeline.window_leveled(2010, 420)
    assert adjusted.window == Window(2010.0, 420.0, VOIFunction.SIGMOID, "USER")
    before = render_float(pipeline, np.array([2000]))[0]
    after = render_float(adjusted, np.array([2000]))[0]
    assert abs(after - before) < 0.05


# -- For Processing ---------------------------------------------------------------------------


def test_for_processing_gets_percentile_window() -> None:
    ds = image_dataset(PresentationIntentType="FOR PROCESSING", BitsStored=14)
    rng = np.random.default_rng(7)
    stored = rng.integers(1000, 3000, size=(200, 200)).astype(np.uint16)
    stored[0, :10] = 16383  # a few saturated detector pixels
    image = display_image_from(ds_path(), ds, DecodedFrame(stored, 14, False, "MONOCHROME2"))
    assert image.for_processing
    window = image.pipeline.window
    assert window is not None and window.explanation == "AUTO FOR PROCESSING"
    low, high = np.percentile(stored, [0.5, 99.5])
    assert window.center - window.width / 2 == pytest.approx(np.floor(low), abs=0.01)
    assert window.center + window.width / 2 == pytest.approx(np.ceil(high) + 1, abs=0.01)
    assert percentile_window(base_pipeline(ds), stored) == window


def test_for_processing_from_sop_class() -> None:
    assert is_for_processing(image_dataset(SOPClassUID="1.2.840.10008.5.1.4.1.1.1.2.1"))
    assert not is_for_processing(image_dataset(SOPClassUID="1.2.840.10008.5.1.4.1.1.1.2"))
