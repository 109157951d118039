"""Render ``asterisk-conf/`` (Jinja2 templates a PBX administrator would recognise).

Example::

    files = render_config(settings, recordings_dir="/var/spool/hotline/recordings")
    write_config(files, Path("/etc/asterisk"))
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from hotline.config import Settings, generated_secret
from hotline.errors import SettingsError

# Modules that log errors in a minimal install, or load demo dialplans (pbx_ael, pbx_lua).
NOLOAD = (
    "chan_dahdi res_corosync chan_mobile cdr_pgsql cel_pgsql res_config_pgsql res_config_ldap "
    "res_resolver_unbound cdr_radius cel_radius cdr_tds cel_tds cel_sqlite3_custom "
    "cdr_sqlite3_custom cel_custom cdr_custom pbx_dundi chan_unistim app_voicemail_odbc "
    "app_voicemail_imap res_hep res_hep_rtcp res_hep_pjsip pbx_ael pbx_lua res_phoneprov "
    "res_pjsip_phoneprov_provider chan_iax2 chan_skinny chan_mgcp chan_motif res_xmpp "
    "cdr_odbc cel_odbc res_config_odbc res_odbc res_odbc_transaction func_odbc cdr_adaptive_odbc "
    "app_voicemail res_calendar res_calendar_caldav res_calendar_ews res_calendar_exchange "
    "res_calendar_icalendar res_prometheus res_stir_shaken res_geolocation chan_websocket "
    "res_pjsip_geolocation res_aeap res_speech_aeap cdr_beanstalkd cel_beanstalkd "
    "res_config_mysql cdr_mysql app_mysql res_snmp res_fax_spandsp res_fax app_fax "
    "res_smdi chan_ooh323 res_ari_mailboxes"
).split()

TEMPLATE_NAMES = (
    "pjsip.conf",
    "extensions.conf",
    "queues.conf",
    "manager.conf",
    "rtp.conf",
    "logger.conf",
    "musiconhold.conf",
    "cdr.conf",
    "modules.conf",
)


def phone_password(settings: Settings, name: str) -> str:
    """The SIP password of a registered phone (seat, citizen, emergency stand-in)."""
    return generated_secret(settings.var_dir, f"sip:{name}")


def emergency_endpoints(settings: Settings) -> list[str]:
    """PJSIP endpoint names of the emergency lines that point at local stand-in phones."""
    names = []
    for target in settings.sip.emergency.values():
        tech, _, resource = target.partition("/")
        if tech.upper() == "PJSIP" and "@" not in resource and "/" not in resource:
            names.append(resource)
    return names


def render_config(
    settings: Settings, *, recordings_dir: str | None = None, template_dir: Path | None = None
) -> dict[str, str]:
    """Render every template; returns file name -> content."""
    template_dir = template_dir or settings.home / "asterisk-conf"
    if not template_dir.is_dir():
        raise SettingsError(f"{template_dir}: Asterisk configuration templates not found")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    registered = [*settings.sip.seats, *settings.sip.phones, *emergency_endpoints(settings)]
    context = {
        "sip": settings.sip,
        "ami": settings.ami,
        "agi": settings.agi,
        "queue": settings.queue,
        "ivr": settings.ivr,
        "ami_secret": settings.ami_secret,
        "passwords": {name: phone_password(settings, name) for name in registered},
        "emergency_endpoints": emergency_endpoints(settings),
        "recordings_dir": recordings_dir or settings.asterisk_recordings_dir(),
        "noload": NOLOAD,
    }
    out = {}
    for name in TEMPLATE_NAMES:
        try:
            out[name] = env.get_template(name).render(**context)
        except jinja2.TemplateError as exc:
            raise SettingsError(f"{template_dir / name}: cannot render ({exc})") from exc
    return out


def write_config(files: dict[str, str], target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        tmp = target / f".{name}.tmp"
        tmp.write_text(content)
        tmp.replace(target / name)
