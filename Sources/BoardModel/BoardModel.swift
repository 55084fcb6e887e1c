// BoardModel module
