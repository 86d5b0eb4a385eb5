"""Hospital psychiatry: the EHR's HL7 v2.5 messages, carried over MLLP.

`ack` reads a received message's header and builds the HL7 acknowledgement that answers it;
`mllp` frames messages on a TCP stream, runs the listener that hands each message to the
adapter and answers its acknowledgement, and sends a message and reads its answer.
"""

__all__: list[str] = []
