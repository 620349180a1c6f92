import { DeviceTree } from "./tree.js";

new DeviceTree(document.getElementById("tree-panel")).start();
