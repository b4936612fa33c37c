"""Home Assistant over MQTT: discovery, states, commands and availability."""
