"""REST query numbers: decimal or 0x-hex only, so a typo is a 400, not a different query."""
import pytest

from ryu_vxlan_vpc.rest import views


@pytest.mark.parametrize('text, value', [('20', 20), ('010', 10), ('0x14', 20), ('0X1F', 31)])
def test_numbers_taken(text, value):
    assert views.parse_number(text) == value


@pytest.mark.parametrize('text', ['', '2_0', '-1', '+1', ' 1', '1\n', '0x', 'x1', '1.0', '0b1'])
def test_numbers_refused(text):
    with pytest.raises(ValueError):
        views.parse_number(text)


@pytest.mark.parametrize('text, value', [
    ('00000000000000ff', 255), ('0000AE47B5671340', 0xae47b5671340), ('255', 255), ('0xff', 255)])
def test_dpids(text, value):
    assert views.parse_dpid(text) == value


@pytest.mark.parametrize('text', ['-1', '0x10000000000000000', 'nothex'])
def test_bad_dpids(text):
    with pytest.raises(ValueError):
        views.parse_dpid(text)
