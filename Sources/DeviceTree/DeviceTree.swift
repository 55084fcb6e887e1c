// DeviceTree module
