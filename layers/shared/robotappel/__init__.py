"""RobotAppel phone-number module: the code every Lambda of the API shares (shipped as a layer)."""
