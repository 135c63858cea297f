"""The synthesized CloudFormation: names ops rely on, and the properties issue 14 asks for."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk.assertions import Match, Template

STACKS = ("AIStudio-NetworkStack-Dev", "AIStudio-DatabaseStack-Dev", "AIStudio-FrontendStack-Dev")


@pytest.fixture(scope="module")
def templates(assembly) -> dict[str, Template]:
    return {name: Template.from_json(assembly.get_stack_by_name(name).template) for name in STACKS}


@pytest.fixture(scope="module")
def frontend(templates) -> Template:
    return templates["AIStudio-FrontendStack-Dev"]


@pytest.fixture(scope="module")
def database(templates) -> Template:
    return templates["AIStudio-DatabaseStack-Dev"]


@pytest.fixture(scope="module")
def container(frontend) -> dict:
    task = frontend.find_resources("AWS::ECS::TaskDefinition")
    (definition,) = task.values()
    (web,) = definition["Properties"]["ContainerDefinitions"]
    return web


def test_stack_names(assembly) -> None:
    assert sorted(s.stack_name for s in assembly.stacks) == sorted(STACKS)


def test_synth_reports_no_warnings(assembly) -> None:
    messages = [
        f"{m.id}: {m.entry.data}"
        for stack in assembly.stacks
        for m in stack.messages
        if m.level.name in {"WARNING", "ERROR"}
    ]
    assert not messages, "\n".join(messages)


def test_vpc_spans_two_zones_with_nat(templates) -> None:
    network = templates["AIStudio-NetworkStack-Dev"]
    network.resource_count_is("AWS::EC2::VPC", 1)
    network.resource_count_is("AWS::EC2::NatGateway", 1)
    subnets = network.find_resources("AWS::EC2::Subnet")
    assert len(subnets) == 6  # public, app, db in each of two zones


def test_aurora_postgres_17_serverless_v2_protected_and_backed_up(database) -> None:
    database.has_resource(
        "AWS::RDS::DBCluster",
        {
            "DeletionPolicy": "Snapshot",
            "Properties": Match.object_like(
                {
                    "DBClusterIdentifier": "aistudio-dev-db",
                    "Engine": "aurora-postgresql",
                    "EngineVersion": Match.string_like_regexp(r"^17\."),
                    "DeletionProtection": True,
                    "EnableHttpEndpoint": True,  # the Data API, for the guide's SQL
                    "StorageEncrypted": True,
                    "BackupRetentionPeriod": 7,  # point-in-time restore window, in days
                    "ServerlessV2ScalingConfiguration": {"MinCapacity": 0.5, "MaxCapacity": 4},
                    "MasterUsername": Match.any_value(),
                    "MasterUserPassword": Match.any_value(),
                }
            ),
        },
    )
    database.has_resource_properties("AWS::RDS::DBInstance", {"DBInstanceClass": "db.serverless"})
    database.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {"Name": "aistudio/dev/database", "GenerateSecretString": Match.object_like({})},
    )


def test_cluster_service_and_log_group_names(frontend) -> None:
    frontend.has_resource_properties("AWS::ECS::Cluster", {"ClusterName": "aistudio-dev-cluster"})
    frontend.has_resource_properties(
        "AWS::ECS::Service",
        {
            "ServiceName": "aistudio-dev-frontend",
            "LaunchType": "FARGATE",
            "EnableExecuteCommand": True,
            "DeploymentConfiguration": Match.object_like(
                {"DeploymentCircuitBreaker": {"Enable": True, "Rollback": True}}
            ),
        },
    )
    frontend.has_resource(
        "AWS::Logs::LogGroup",
        {
            "DeletionPolicy": "Retain",
            "Properties": {"LogGroupName": "/aws/ecs/aistudio-dev-frontend", "RetentionInDays": 30},
        },
    )


def test_image_is_built_from_the_repository_dockerfile_at_deploy(assembly, container) -> None:
    out = Path(assembly.directory)
    manifest = json.loads((out / "AIStudio-FrontendStack-Dev.assets.json").read_text())
    (image,) = manifest["dockerImages"].values()
    # Synth only stages the build context; cdk-assets builds and pushes it at deploy.
    tag = next(iter(image["destinations"].values()))["imageTag"]
    assert tag in json.dumps(container["Image"])
    asset_dir = out / image["source"]["directory"]
    staged = {p.relative_to(asset_dir).parts[0] for p in asset_dir.rglob("*")}
    assert {"Dockerfile", "app", "migrations", "templates", "static", "docker"} <= staged
    assert not staged & {".venv", ".git", "tests", "infra", "instance"}, staged


def test_secrets_come_from_secrets_manager_never_plain_environment(container) -> None:
    secret_names = {s["Name"] for s in container["Secrets"]}
    assert {
        "SECRET_KEY",
        "DB_HOST",
        "DB_PORT",
        "DB_NAME",
        "DB_USER",
        "DB_PASSWORD",
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "OIDC_CLIENT_SECRET",
    } <= secret_names
    plain = {e["Name"] for e in container["Environment"]}
    assert not plain & (secret_names | {"DATABASE_URL"}), plain
    assert not [n for n in plain if "KEY" in n or "PASSWORD" in n or "SECRET" in n], plain


def test_streams_outlive_the_load_balancer(frontend, container) -> None:
    frontend.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        {
            "Scheme": "internet-facing",
            "LoadBalancerAttributes": Match.array_with(
                [
                    {"Key": "idle_timeout.timeout_seconds", "Value": "1000"},
                    {"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"},
                ]
            ),
        },
    )
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    # gunicorn keeps idle connections open longer than the ALB does: no 502 on reuse.
    assert int(env["KEEPALIVE"]) > 1000
    assert container["StopTimeout"] > int(env["GRACEFUL_TIMEOUT"])


def test_https_listener_with_certificate_parameter_and_http_redirect(frontend) -> None:
    frontend.has_parameter("CertificateArn", {"Type": "String"})
    frontend.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Port": 443,
            "Protocol": "HTTPS",
            "Certificates": [{"CertificateArn": {"Ref": "CertificateArn"}}],
        },
    )
    frontend.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Port": 80,
            "Protocol": "HTTP",
            "DefaultActions": [
                Match.object_like(
                    {
                        "Type": "redirect",
                        "RedirectConfig": Match.object_like(
                            {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}
                        ),
                    }
                )
            ],
        },
    )


def test_target_health_check_and_draining(frontend) -> None:
    frontend.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {
            "HealthCheckPath": "/healthz",
            "Port": 8000,
            "TargetType": "ip",
            "TargetGroupAttributes": Match.array_with(
                [{"Key": "deregistration_delay.timeout_seconds", "Value": "120"}]
            ),
        },
    )


def test_autoscaling_on_cpu_and_requests(frontend) -> None:
    frontend.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget", {"MinCapacity": 1, "MaxCapacity": 4}
    )
    metrics = [
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"][
            "PredefinedMetricSpecification"
        ]["PredefinedMetricType"]
        for p in frontend.find_resources("AWS::ApplicationAutoScaling::ScalingPolicy").values()
    ]
    assert sorted(metrics) == ["ALBRequestCountPerTarget", "ECSServiceAverageCPUUtilization"]


def test_alarms_for_errors_latency_and_failed_runs(frontend) -> None:
    frontend.has_resource_properties(
        "AWS::Logs::MetricFilter",
        {
            "FilterPattern": '{ ($.component = "assistant-architect") && '
            '($.event = "execution.failed") }',
            "MetricTransformations": [
                Match.object_like({"MetricName": "ExecutionsFailed", "MetricValue": "1"})
            ],
        },
    )
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in frontend.find_resources("AWS::CloudWatch::Alarm").values()
    }
    assert set(alarms) == {
        "aistudio-dev-frontend-5xx-rate",
        "aistudio-dev-frontend-p99-latency",
        "aistudio-dev-executions-failed",
    }
    assert alarms["aistudio-dev-frontend-p99-latency"]["ExtendedStatistic"] == "p99"
    assert alarms["aistudio-dev-executions-failed"]["MetricName"] == "ExecutionsFailed"
    assert all(a["AlarmActions"] for a in alarms.values())


def test_only_the_service_reaches_the_database(frontend) -> None:
    frontend.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432},
    )


def test_cfn_lint_finds_no_errors(assembly) -> None:
    paths = [str(Path(assembly.directory) / s.template_file) for s in assembly.stacks]
    cfn_lint = Path(sys.executable).parent / "cfn-lint"  # the venv's, as CI would call it
    result = subprocess.run(
        # W3005 (a DependsOn that a Ref already implies) is how CDK's own constructs are written.
        [str(cfn_lint), "--format", "parseable", "--ignore-checks", "W3005", "--", *paths],
        capture_output=True,
        text=True,
        timeout=300,
    )
    # Exit code: 0 clean, else a bit mask (2 errors, 4 warnings, 8 informational); 1 = crashed.
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}{result.stderr}"


def test_environment_names_and_provider_keys_are_checked() -> None:
    from stacks.settings import settings_for

    assert settings_for("Prod").prefix == "aistudio-prod"
    assert settings_for("Dev", "OPENAI_API_KEY, GROQ_API_KEY").provider_keys == (
        "OPENAI_API_KEY",
        "GROQ_API_KEY",
    )
    with pytest.raises(ValueError, match="env must be one of"):
        settings_for("Staging")
    with pytest.raises(ValueError, match="_API_KEY"):
        settings_for("Dev", "DATABASE_URL")


def test_single_sign_on_from_context(container) -> None:
    plain = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert plain["OIDC_ISSUER"].startswith("https://cognito-idp.")
    assert plain["OIDC_CLIENT_ID"] == "4h1sclientid"
    assert plain["OIDC_GROUPS_CLAIM"] == "cognito:groups"
    assert plain["OIDC_ROLE_MAP"] == "teachers=staff,admins=administrator"


def test_single_sign_on_settings_are_checked() -> None:
    from stacks.settings import oidc_environment

    assert oidc_environment({"oidcIssuer": None, "oidcClientId": ""}) == {}
    with pytest.raises(ValueError, match="https://"):
        oidc_environment({"oidcIssuer": "http://idp.example", "oidcClientId": "x"})
    with pytest.raises(ValueError, match="oidcClientId"):
        oidc_environment({"oidcIssuer": "https://idp.example"})
    with pytest.raises(ValueError, match="on or off"):
        oidc_environment(
            {"oidcIssuer": "https://idp.example", "oidcClientId": "x", "passwordLogin": "no"}
        )
