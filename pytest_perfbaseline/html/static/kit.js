/* Shared by every page: reading the embedded data. */
"use strict";
function perfData() {
  return JSON.parse(document.getElementById("perf-data").textContent);
}
