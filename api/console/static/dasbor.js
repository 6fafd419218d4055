// JPS Flow dashboard: draws the four charts of /dasbor with Plotly (served by the API, no CDN) from
// the figures the page carries in #dash-data (those of the JSON reports). Every figure is also in the
// table under its chart; without this script the page still reads.
(function () {
  "use strict";
  // The console's Content-Security-Policy (style-src 'self') refuses style *attributes*; Plotly (d3)
  // sets a few with setAttribute("style", ...) (the heatmap's pixelated image, empty ones on rects).
  // Setting the same declarations through the CSSOM is allowed, so on this page a style attribute
  // becomes style.cssText: the policy stays strict and nothing is refused.
  var setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (typeof name === "string" && name.toLowerCase() === "style" && this.style) {
      this.style.cssText = String(value);
      return;
    }
    return setAttribute.call(this, name, value);
  };
  var block = document.getElementById("dash-data");
  if (!block || !window.Plotly) return;
  var d = JSON.parse(block.textContent);
  var L = d.labels;
  var id = L.lang === "id";
  var base = {
    separators: id ? ",." : ".,",
    font: { family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size: 13 },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    margin: { l: 160, r: 20, t: 10, b: 40 },
    legend: { orientation: "h", y: -0.12 }
  };
  var config = { displayModeBar: false, responsive: true };
  function layout(extra) {
    var out = {};
    Object.keys(base).forEach(function (k) { out[k] = base[k]; });
    Object.keys(extra || {}).forEach(function (k) { out[k] = extra[k]; });
    return out;
  }
  // A province by its name; a regency's allocation by its code and its province's name
  function province(code) {
    var name = L.province[code.slice(0, 2)] || "";
    return code.length > 2 ? code + " (" + name + ")" : code + " " + name;
  }
  var jobs = [];
  function draw(elId, traces, lay) {
    var el = document.getElementById(elId);
    if (el) jobs.push(window.Plotly.newPlot(el, traces, lay, config));
  }

  // 1. the funnel: one trace per programme, stages in the lifecycle's order
  var colourOf = { tkm: "#1f4e9c", padat_karya: "#d9822b" };
  draw("chart-funnel", d.funnel.programs.map(function (p) {
    return {
      type: "funnel",
      name: L.program[p.program],
      y: p.stages.map(function (s) { return L.stage[s.stage]; }),
      x: p.stages.map(function (s) { return s.groups; }),
      textinfo: "value",
      connector: { visible: false },
      marker: { color: colourOf[p.program] }
    };
  }), layout({ funnelmode: "group", height: 380 }));

  // 2. the heatmap: provinces × stages, colour = median days, text = median and overdue
  var st = d.stalls;
  if (st.cells.length) {
    var cell = {};
    st.cells.forEach(function (c) { cell[c.province + "|" + c.step] = c; });
    var z = [], text = [], overdue = [];
    st.provinces.forEach(function (p) {
      var zr = [], tr = [], orow = [];
      st.steps.forEach(function (s) {
        var c = cell[p.code + "|" + s];
        var days = c && c.median_days !== null ? c.median_days : null;
        zr.push(days);
        orow.push(c ? c.overdue : 0);
        var label = days === null ? "" : days.toFixed(1).replace(".", id ? "," : ".") + " " + L.dash_days_short;
        if (c && c.overdue) label += (label ? "<br>" : "") + "⚠ " + c.overdue;
        tr.push(label);
      });
      z.push(zr); text.push(tr); overdue.push(orow);
    });
    draw("chart-stalls", [{
      type: "heatmap",
      x: st.steps.map(function (s) { return L.stage[s]; }),
      y: st.provinces.map(function (p) { return p.code + " " + p.name; }),
      z: z,
      text: text,
      texttemplate: "%{text}",
      customdata: overdue,
      hovertemplate: "%{y} · %{x}<br>" + L.dash_median_days + ": %{z:.1f}<br>" + L.dash_overdue +
        ": %{customdata}<extra></extra>",
      colorscale: "YlOrRd",
      reversescale: true,
      zmin: 0,
      zmax: Math.max(1, Math.max.apply(null, st.cells.map(function (c) { return c.median_days || 0; }))),
      hoverongaps: false,
      colorbar: { title: { text: L.dash_median_days } }
    }], layout({ height: Math.max(260, 90 + 32 * st.provinces.length), yaxis: { autorange: "reversed" } }));
  }

  // 3. disbursed and reserved against the allocation: per region (x), a bar per programme, its height
  // the share of the allocation spent; the amounts on hover and in the table
  var items = d.allocation.items;
  var regions = [];
  items.forEach(function (a) { if (regions.indexOf(a.region_code) < 0) regions.push(a.region_code); });
  regions.sort();
  var programs = [];
  items.forEach(function (a) { if (programs.indexOf(a.program) < 0) programs.push(a.program); });
  function share(part, whole) { return whole ? Math.round(1000 * part / whole) / 10 : 0; }
  function short(program) { return L.program[program].split(" (")[0]; }
  if (items.length) {
    var traces = [];
    programs.forEach(function (program) {
      var mine = {};
      items.forEach(function (a) { if (a.program === program) mine[a.region_code] = a; });
      var rows = regions.map(function (r) { return mine[r]; });
      function series(name, key, colour, opacity) {
        return {
          type: "bar", name: short(program) + " · " + name, x: regions.map(province),
          y: rows.map(function (a) { return a ? share(a[key], a.amount) : null; }),
          customdata: rows.map(function (a) { return a ? [a[key], a.amount] : [0, 0]; }),
          offsetgroup: program, marker: { color: colour, opacity: opacity },
          hovertemplate: "%{x}<br>" + short(program) + " · " + name +
            ": Rp %{customdata[0]:,.0f} / Rp %{customdata[1]:,.0f} (%{y:.1f} %)<extra></extra>"
        };
      }
      traces.push(series(L.dash_spent, "spent", colourOf[program], 1));
      traces.push(series(L.dash_reserved, "reserved", colourOf[program], 0.45));
    });
    draw("chart-allocation", traces, layout({
      barmode: "stack", height: 440, margin: { l: 60, r: 20, t: 10, b: 150 },
      yaxis: { title: { text: "% " + L.dash_allocation }, rangemode: "tozero", ticksuffix: " %" },
      xaxis: { type: "category", tickangle: -45, automargin: true }, legend: { orientation: "h", y: 1.12 }
    }));
  }

  // 4. LPJ: groups on time, overdue and under recovery per province (and programme, when several)
  var rows = d.lpj.items;
  if (rows.length) {
    var several = rows.some(function (r) { return r.program !== rows[0].program; });
    var who = rows.map(function (r) { return (several ? short(r.program) + " · " : "") + province(r.region_code); });
    var most = Math.max.apply(null, rows.map(function (r) {
      return r.on_time_groups + r.overdue_groups + r.under_recovery_groups;
    }));
    function stack(name, key, colour) {
      return { type: "bar", name: name, x: who, y: rows.map(function (r) { return r[key]; }),
               marker: { color: colour } };
    }
    draw("chart-lpj", [
      stack(L.dash_on_time, "on_time_groups", "#2e7d32"),
      stack(L.dash_lpj_overdue, "overdue_groups", "#f0a202"),
      stack(L.dash_under_recovery, "under_recovery_groups", "#c62828")
    ], layout({ barmode: "stack", height: 420, margin: { l: 60, r: 20, t: 10, b: 150 },
                xaxis: { type: "category", tickangle: -45, automargin: true },
                yaxis: { title: { text: L.dash_groups }, tickformat: ",d", dtick: most <= 10 ? 1 : null },
                legend: { orientation: "h", y: 1.12 } }));
  }

  // a mark the browser test and the bench wait for: every chart drawn
  // (and when, in ms since the navigation began: `make bench`'s dashboard_render_ms)
  Promise.all(jobs).then(function () {
    document.body.setAttribute("data-charts-ms", String(Math.round(window.performance.now())));
    document.body.setAttribute("data-charts", "ready");
  });
})();
