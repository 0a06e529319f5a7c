"""The settings above the account: global config, classes of service, domains.

Plain dataclasses and the requests that read and change them (their SOAP shapes are in
zcomp.zimbra.policy_wire). Per Zimbra's JAXB classes (soap/src/java/com/zimbra/soap/admin/
message/{GetAllConfig,ModifyConfig,GetAllCos,GetCos,ModifyCos,GetAllDomains,GetDomain,
ModifyDomain}Request.java). Every attribute may hold several values: `dict[str, list[str]]`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from zcomp.zimbra.model import Attrs, Domain
from zcomp.zimbra.operations import AttrChanges, Request


@dataclass
class Cos:
    """A class of service as GetCos encodes it (`<cos name= id= isDefaultCos=>`)."""

    id: str
    name: str
    attrs: Attrs = field(default_factory=dict)
    default: bool = False


@dataclass
class GlobalConfig:
    attrs: Attrs = field(default_factory=dict)


@dataclass(frozen=True)
class GetAllConfig(Request[GlobalConfig]):
    """Every attribute of the global config."""


@dataclass(frozen=True)
class ModifyConfig(Request[None]):
    """ModifyConfigResponse is empty: read back with GetAllConfig."""

    attrs: AttrChanges = field(default_factory=dict)
    write = True


@dataclass(frozen=True)
class GetAllCos(Request[list[Cos]]):
    pass


@dataclass(frozen=True)
class GetCos(Request[Cos]):
    cos: str
    by: Literal["name", "id"] = "id"


@dataclass(frozen=True)
class ModifyCos(Request[Cos]):
    id: str
    attrs: AttrChanges = field(default_factory=dict)
    write = True


@dataclass(frozen=True)
class GetDomainEntries(Request[list[Domain]]):
    """GetAllDomains with applyConfig=0: each domain's own attributes, not mixed with the
    global config values it inherits (so a setting is reported where it is stored)."""


@dataclass(frozen=True)
class GetDomainEntry(Request[Domain]):
    """GetDomain with applyConfig=0."""

    domain: str
    by: Literal["name", "id"] = "id"


@dataclass(frozen=True)
class ModifyDomain(Request[Domain]):
    id: str
    attrs: AttrChanges = field(default_factory=dict)
    write = True
