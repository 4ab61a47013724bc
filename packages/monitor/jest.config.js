module.exports = require('@signet/jest-config')(__dirname);
