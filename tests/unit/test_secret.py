import pytest

from payments.runtime import ConfigurationError, parse_yookassa_secret


def test_the_secret_is_a_json_object_with_shop_id_and_secret_key() -> None:
    assert parse_yookassa_secret('{"shopId": "123456", "secretKey": "live_x"}') == ("123456", "live_x")


@pytest.mark.parametrize(
    "bad", ["", "live_x", "[1, 2]", "{}", '{"shopId": "1"}', '{"shopId": "", "secretKey": "s"}', None, 42]
)
def test_a_malformed_secret_is_a_configuration_error_that_does_not_echo_it(bad: object) -> None:
    with pytest.raises(ConfigurationError) as raised:
        parse_yookassa_secret(bad)
    assert "live_x" not in str(raised.value)
