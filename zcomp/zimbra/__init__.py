"""The only package that knows SOAP, zeep, lxml or requests.

Everything it hands out is a plain dataclass from `model`; requests are dataclasses from
`requests` executed by `ZimbraClient.call` / `ZimbraClient.batch`.
"""
