"""Translation between plain flow descriptions and Ryu's OpenFlow 1.3 + Nicira messages."""
