"""REST query numbers: decimal or 0x-hex only, so a typo is a 400, not a different query.

A dpid is read one way by the server and the CLI (rest.params): 16 hex digits, 0x-hex or
decimal.
"""
import argparse

import pytest

from ryu_vxlan_vpc.rest import client, params


@pytest.mark.parametrize('text, value', [('20', 20), ('010', 10), ('0x14', 20), ('0X1F', 31)])
def test_numbers_taken(text, value):
    assert params.parse_number(text) == value


@pytest.mark.parametrize('text', ['', '2_0', '-1', '+1', ' 1', '1\n', '0x', 'x1', '1.0', '0b1',
                                  '\uff11', '9' * 5000])
def test_numbers_refused(text):
    with pytest.raises(ValueError):
        params.parse_number(text)


@pytest.mark.parametrize('text, value', [
    ('00000000000000ff', 255), ('0000AE47B5671340', 0xae47b5671340), ('255', 255),
    ('0xff', 255), ('0XFF', 255), ('0000000000000010', 16),  # 16 digits: always hex
    ('ffffffffffffffff', (1 << 64) - 1), ('18446744073709551615', (1 << 64) - 1)])
def test_dpids(text, value):
    assert params.parse_dpid(text) == value


@pytest.mark.parametrize('text', ['-1', '0x10000000000000000', '18446744073709551616', 'nothex',
                                  '', 'ff', '000000000000000g', '00000000000000ff ', '0x',
                                  '00000000000000000ff'])
def test_bad_dpids(text):
    with pytest.raises(ValueError):
        params.parse_dpid(text)


def test_cli_takes_the_dpids_rest_takes():
    assert client._dpid('0xff') == '0xff' and client._dpid('00000000000000ff')
    with pytest.raises(argparse.ArgumentTypeError, match='16 hex digits, 0x-prefixed hex'):
        client._dpid('ff')
