"""Node-to-node networking: frames, TLS contexts and the asyncio transport.

``framing`` is sans-IO; ``tls`` builds the mutual-TLS contexts and reads a peer's identity;
``transport`` runs the connections. See each module's theory of operation.
"""
