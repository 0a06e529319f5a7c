"""Which Zimbra client submitted a message, from what the mailbox server wrote into it.

Zimbra's MailSender adds `X-Mailer: Zimbra <version> (<ua>)` to every message a web client
sends (global zimbraSmtpSendAddMailer, default TRUE), where <ua> is the SOAP context's
userAgent "name/version" (zm-mailbox store/src/java/com/zimbra/cs/mailbox/MailSender.java
updateHeaders, X_MAILER; store/src/java/com/zimbra/soap/ZimbraSoapContext.java ~line 464):
- Standard (HTML) client: its JSP pages talk SOAP through ZMailbox, whose user agent is
  "zclient/<version>" (zm-mailbox client/src/java/com/zimbra/client/ZMailbox.java ~line 946);
  so `X-Mailer: Zimbra 8.8.15_GA_4308 (zclient/8.8.15_GA_4308)`. zmmailbox uses ZMailbox too:
  it looks the same. The HTML client was removed in ZCS 10.0.
- Classic AJAX client: "ZimbraWebClient - GC122 (Win)/<version>" (zm-web-client
  ZmCsfeCommand.js; the "Web UI:(.*)ZimbraWebClient(.*)" zimbraClientTypeRegex default in
  zm-mailbox store/conf/attrs/zimbra-attrs.xml).
- Modern client: "ZimbraXWebClient - ..." (early 9.0) or "ZimbraModernWebClient - ...".
Zimbra writes no User-Agent header of its own; one is read as well, for MUAs that write it.
Mail submitted with SMTP AUTH ({auth_authen} set) did not come through a web client.
"""

from __future__ import annotations

import re

STANDARD, AJAX, MODERN, SMTP_AUTH, OTHER = "standard", "ajax", "modern", "smtp-auth", "other"

# The user agent inside the parentheses of Zimbra's X-Mailer; or a bare User-Agent value.
_UA = re.compile(r"^\s*Zimbra\s+\S+\s+\((?P<ua>.*)\)\s*$", re.IGNORECASE)


def web_client(user_agent: str) -> str:
    """standard | ajax | modern | other, from one web-client user agent string."""
    ua = user_agent.strip().lower()
    if ua.startswith("zclient/") or ua == "zclient":
        return STANDARD
    if ua.startswith(("zimbraxwebclient", "zimbramodernwebclient", "zimbraxdesktopclient")):
        return MODERN
    if ua.startswith("zimbrawebclient"):
        return AJAX
    return OTHER


def classify(x_mailer: str | None, user_agent: str | None, auth_user: str | None) -> str:
    if auth_user:
        return SMTP_AUTH
    if x_mailer:
        m = _UA.match(x_mailer)
        if m:
            return web_client(m["ua"])
    if user_agent:
        return web_client(user_agent)
    return OTHER
