"""The FHIR store (HAPI) and everything that talks to it.

client     Upstream: the aiohttp client of the hot path, and its error mapping
search     search_all: every match of one search, one page the store keeps no copy of, for the gateway's own reads
consents   read_consents: a client's active consents, afresh
facts      the facts a decision rests on (consents, care teams), read once per request
hapi       HapiServer: build, start, stop and inspect our HAPI (docker/hapi)
package    build_package: fi.yhteys.fhir.tgz from profiles/ and terminology/
"""

__all__: list[str] = []
