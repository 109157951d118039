"""What the messages to citizens say (pure: no I/O). Short, one link each, as 12345 centers'
SMS are: the ticket number to quote, and the page to open.

    >>> accepted_text(signature="【12345热线】", number="20261123-00001",
    ...               base_url="https://12345.example.cn")
    '【12345热线】您的诉求已受理，工单号 20261123-00001。凭工单号和手机号查询办理进度：https://12345.example.cn/public/status'
"""

from __future__ import annotations

STATUS_PATH = "/public/status"


def survey_path(number: str, token: str) -> str:
    """The survey page of ticket ``number`` (``hotline.web.pages.public``), its signed token."""
    return f"/public/survey/{number}/{token}"


def absolute(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + path


def accepted_text(*, signature: str, number: str, base_url: str) -> str:
    return (f"{signature}您的诉求已受理，工单号 {number}。凭工单号和手机号查询办理进度："
            f"{absolute(base_url, STATUS_PATH)}")


def survey_text(*, signature: str, number: str, token: str, base_url: str) -> str:
    return (f"{signature}您的诉求（工单号 {number}）已办理答复，请对办理结果评价："
            f"{absolute(base_url, survey_path(number, token))}")
